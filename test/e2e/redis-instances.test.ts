// Two real server processes on one Redis and on a Redis Cluster, through HTTP: one product across instances, restarts that lose nothing, and start-up rules.
import {
  acceptsConnections,
  freePort,
  killStartedChildren,
  requestJson,
  spawnTs,
  type JsonResponse,
  type RunningChild,
} from '../helpers/child-process';
import { eventually } from '../helpers/eventually';
import { deleteKeys, describeWithRedis, describeWithRedisCluster, uniquePrefix } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';

const PASSWORD = 'correct horse battery staple';
const BASE_ENV = {
  JWT_SECRET: 'e2e-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'e2e-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  BCRYPT_COST: '10',
  LOGIN_RATE_LIMIT_MAX: '3',
};
const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';

interface Instance {
  child: RunningChild;
  port: number;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string };
}

afterEach(() => {
  killStartedChildren();
});

async function spawnServer(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawnTs('src/server.ts', { isolateConfig: true, env: { ...BASE_ENV, PORT: String(port), HOST: '127.0.0.1', ...env } });
  return { child, port };
}

async function startServer(env: Record<string, string>): Promise<Instance> {
  const started = await spawnServer(env);
  await started.child.waitForOutput(/"msg":"listening on /);
  return started;
}

async function stop(instance: Instance): Promise<void> {
  process.kill(instance.child.pid, 'SIGTERM');
  expect(await instance.child.waitForExit()).toEqual({ code: 0, signal: null });
}

function call(instance: Instance, method: string, path: string, body?: unknown, accessToken?: string): Promise<JsonResponse> {
  const headers = accessToken ? { Authorization: `Bearer ${accessToken}` } : undefined;
  return requestJson(instance.port, method, path, { body, headers });
}

function expectJsonError(res: JsonResponse, status: number, error: string) {
  expect({ status: res.status, error: (res.body as { error?: string }).error }).toEqual({ status, error });
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
}

describeWithRedis('two server processes on one Redis', (url) => twoInstances(url));
describeWithRedisCluster('two server processes on a Redis Cluster', (url) => twoInstances(url));

function twoInstances(url: string): void {
  const prefix = uniquePrefix();
  let env: Record<string, string>;
  let a: Instance;
  let b: Instance;
  let email: string;
  let counter = 0;

  beforeEach(async () => {
    counter += 1;
    email = `e2e-redis-${counter}.${process.pid}@example.com`;
    env = { REDIS_URL: url, REDIS_KEY_PREFIX: prefix };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  });

  afterAll(() => deleteKeys(url, prefix));

  it('register on A, login on B, refresh on A, logout on B: the access token is rejected on A', async () => {
    expect((await call(a, 'POST', '/register', { email, password: PASSWORD })).status).toBe(201);
    const login = await call(b, 'POST', '/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);

    const refreshed = await call(a, 'POST', '/refresh', { refresh_token: (login.body as Tokens).refresh_token });
    expect(refreshed.status).toBe(200);
    const tokens = refreshed.body as Tokens;
    expect(tokens.user.email).toBe(email);
    expect((await call(b, 'GET', '/profile', undefined, tokens.access_token)).status).toBe(200);
    expect((await call(a, 'GET', '/profile', undefined, tokens.access_token)).status).toBe(200);

    expect((await call(b, 'POST', '/logout', {}, tokens.access_token)).status).toBe(204);
    // The revocation reaches A over pub/sub (measured in bench/redis-vs-memory.ts); wait for it, boundedly.
    let rejected: JsonResponse | undefined;
    await eventually(async () => {
      rejected = await call(a, 'GET', '/profile', undefined, tokens.access_token);
      return rejected.status !== 200;
    });
    expectJsonError(rejected!, 401, 'invalid_token');
    expect(rejected!.headers['www-authenticate']).toBe(REVOKED);
    expectJsonError(await call(b, 'GET', '/profile', undefined, tokens.access_token), 401, 'invalid_token');
    expectJsonError(await call(a, 'POST', '/refresh', { refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
  });

  it('shares the failed-login limit across both processes', async () => {
    expect((await call(a, 'POST', '/register', { email, password: PASSWORD })).status).toBe(201);
    for (const instance of [a, b, a]) {
      expectJsonError(await call(instance, 'POST', '/login', { email, password: 'wrong password!' }), 401, 'invalid_credentials');
    }
    for (const instance of [b, a]) {
      const res = await call(instance, 'POST', '/login', { email, password: PASSWORD });
      expectJsonError(res, 429, 'rate_limited');
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    }
  });

  it('answers parallel refreshes of one token split across both processes with one successor', async () => {
    expect((await call(a, 'POST', '/register', { email, password: PASSWORD })).status).toBe(201);
    const login = (await call(a, 'POST', '/login', { email, password: PASSWORD })).body as Tokens;

    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', '/refresh', { refresh_token: login.refresh_token })),
    );
    expect(results.map((res) => res.status)).toEqual(Array(10).fill(200));
    const successors = new Set(results.map((res) => (res.body as Tokens).refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = [...successors];
    expect(successor).not.toBe(login.refresh_token);
    expect((await call(b, 'POST', '/refresh', { refresh_token: successor })).status).toBe(200);
  });

  it('loses no user and no session when both processes restart', async () => {
    expect((await call(a, 'POST', '/register', { email, password: PASSWORD })).status).toBe(201);
    const first = (await call(a, 'POST', '/login', { email, password: PASSWORD })).body as Tokens;
    const second = (await call(b, 'POST', '/login', { email, password: PASSWORD })).body as Tokens;

    await Promise.all([stop(a), stop(b)]);
    [a, b] = await Promise.all([startServer(env), startServer(env)]);

    const profile = await call(a, 'GET', '/profile', undefined, first.access_token);
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual({ user: first.user });
    const sessions = await call(b, 'GET', '/sessions', undefined, second.access_token);
    expect(sessions.status).toBe(200);
    expect((sessions.body as { sessions: unknown[] }).sessions).toHaveLength(2);
    expect((await call(b, 'POST', '/refresh', { refresh_token: first.refresh_token })).status).toBe(200);
    expect((await call(a, 'POST', '/login', { email, password: PASSWORD })).status).toBe(200);
  });
}

describeWithRedis('starting outside production while Redis is unreachable', (url) => {
  const prefix = uniquePrefix();
  let link: TcpProxy;

  beforeAll(async () => {
    link = await TcpProxy.start(url);
  });

  afterAll(async () => {
    await link.close();
    await deleteKeys(url, prefix);
  });

  it('listens, answers 503 until Redis is reachable, then serves', async () => {
    link.set('down');
    const instance = await startServer({ REDIS_URL: link.urlFor(url), REDIS_KEY_PREFIX: prefix });
    expect(instance.child.stdout()).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\).*starting anyway/);

    const ready = await call(instance, 'GET', '/ready');
    expectJsonError(ready, 503, 'unavailable');
    expectJsonError(await call(instance, 'POST', '/register', { email: 'late@example.com', password: PASSWORD }), 503, 'unavailable');

    link.set('up');
    await eventually(async () => (await call(instance, 'GET', '/ready')).status === 200, 10_000);
    expect((await call(instance, 'POST', '/register', { email: `late.${process.pid}@example.com`, password: PASSWORD })).status).toBe(201);
  });
});

describe('starting in production with an unreachable REDIS_URL', () => {
  it('exits non-zero before listening, saying which Redis it could not reach, never the password', async () => {
    const redisPort = await freePort();
    const { child, port } = await spawnServer({
      NODE_ENV: 'production',
      MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
      REDIS_URL: `redis://admin:qq-redis-password@127.0.0.1:${redisPort}/0`,
    });

    const exit = await child.waitForExit(20_000);
    expect(exit.code).toBe(1);
    expect(child.stderr()).toContain(`Start-up failed: cannot reach Redis at redis://127.0.0.1:${redisPort}/0 (REDIS_URL): ECONNREFUSED`);
    expect(child.stdout() + child.stderr()).not.toMatch(/qq-redis-password|admin:/);
    expect(child.stdout()).not.toMatch(/listening/);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });
});

describe('starting in production with an unreachable Redis Cluster', () => {
  it('exits non-zero before listening, naming the nodes it could not reach, never the password', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const { child, port } = await spawnServer({
      NODE_ENV: 'production',
      MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
      REDIS_URL: `redis+cluster://admin:qq-redis-password@127.0.0.1:${first},127.0.0.1:${second}`,
    });

    const exit = await child.waitForExit(20_000);
    expect(exit.code).toBe(1);
    expect(child.stderr()).toContain(`Start-up failed: cannot reach Redis at redis+cluster://127.0.0.1:${first},127.0.0.1:${second} (REDIS_URL): no node of the cluster answered`);
    expect(child.stdout() + child.stderr()).not.toMatch(/qq-redis-password|admin:/);
    expect(child.stdout()).not.toMatch(/listening/);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });
});
