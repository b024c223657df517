// Real processes on DATABASE_URL: a restart keeps users, live sessions and ended sessions; one process per PGlite directory; clear start-up failures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../../src/stores/sql/migrations';
import { freePort, killStartedChildren, requestJson, spawnNode, type RunningChild } from '../helpers/child-process';
import { describeWithPostgres, dropSchema, inspector, uniqueSchema } from '../helpers/postgres';

const PASSWORD = 'correct horse battery staple';
const SECRETS = {
  JWT_SECRET: 'e2e-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'e2e-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  // Production refuses a database without a key for the TOTP secrets it would hold.
  MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
};
/** Long enough for a first PGlite start (it creates the cluster: several seconds on two cores). */
const START_TIMEOUT_MS = 60_000;

let tempDirs: string[] = [];

afterEach(() => {
  killStartedChildren();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs = [];
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-durable-'));
  tempDirs.push(dir);
  return dir;
}

interface Server {
  child: RunningChild;
  port: number;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawnNode('dist/server.js', {
    isolateConfig: true,
    env: { PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '10', LOG_LEVEL: 'info', ...SECRETS, ...env },
  });
  await child.waitForOutput(/"msg":"listening on /, START_TIMEOUT_MS);
  return { child, port };
}

async function stop({ child }: Server): Promise<void> {
  process.kill(child.pid, 'SIGTERM');
  await expect(child.waitForExit(15_000)).resolves.toEqual({ code: 0, signal: null });
}

async function login(port: number, email: string) {
  const res = await requestJson(port, 'POST', '/login', { body: { email, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; user: { id: string } };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * Registers a user with two sessions and ends one; restarts the server; then checks that the user,
 * the live session (its refresh token and access token) and the ended session all are as they were.
 */
async function restartKeepsEverything(env: Record<string, string>): Promise<void> {
  const email = `durable.${process.pid}.${Date.now()}@example.com`;
  const first = await startServer(env);
  const registered = await requestJson(first.port, 'POST', '/register', { body: { email, password: PASSWORD } });
  expect(registered.status).toBe(201);
  const kept = await login(first.port, email);
  const ended = await login(first.port, email);
  const logout = await requestJson(first.port, 'POST', '/logout', { body: { refresh_token: ended.refresh_token } });
  expect(logout.status).toBe(204);
  await stop(first);

  const second = await startServer(env);
  const profile = await requestJson(second.port, 'GET', '/profile', { headers: bearer(kept.access_token) });
  expect(profile.status).toBe(200);
  expect(profile.body).toMatchObject({ user: { id: kept.user.id, email } });

  const refreshed = await requestJson(second.port, 'POST', '/refresh', { body: { refresh_token: kept.refresh_token } });
  expect(refreshed.status).toBe(200);
  expect(refreshed.body).toMatchObject({ token_type: 'Bearer', user: { id: kept.user.id } });

  const revoked = await requestJson(second.port, 'GET', '/profile', { headers: bearer(ended.access_token) });
  expect(revoked.status).toBe(401);
  expect(revoked.body).toEqual({ error: 'invalid_token', error_description: 'token revoked' });
  const endedRefresh = await requestJson(second.port, 'POST', '/refresh', { body: { refresh_token: ended.refresh_token } });
  expect(endedRefresh.status).toBe(401);
  expect(endedRefresh.body).toMatchObject({ error: 'invalid_grant' });

  const again = await requestJson(second.port, 'POST', '/login', { body: { email, password: PASSWORD } });
  expect(again.status).toBe(200);
  await stop(second);
}

describe('DATABASE_URL=file:DIR (embedded PGlite)', () => {
  it('keeps every user, live session and ended session across a restart', async () => {
    await restartKeepsEverything({ DATABASE_URL: `file:${tempDir()}/auth` });
  }, 180_000);

  it('refuses a second process on the same directory, naming the directory', async () => {
    const directory = path.join(tempDir(), 'auth');
    const first = await startServer({ DATABASE_URL: `file:${directory}` });
    const port = await freePort();
    const second = spawnNode('dist/server.js', {
      isolateConfig: true,
      env: { PORT: String(port), HOST: '127.0.0.1', ...SECRETS, DATABASE_URL: `file:${directory}` },
    });
    await expect(second.waitForExit(30_000)).resolves.toEqual({ code: 1, signal: null });
    const lines = second.stderr().trim().split('\n');
    expect(lines).toEqual([
      `Start-up failed: the database directory ${directory} is in use by another process (or by one that stopped less than 30 s ago); one process may open it at a time (DATABASE_URL)`,
    ]);
    // The first one still serves.
    await expect(requestJson(first.port, 'GET', '/ready')).resolves.toMatchObject({ status: 200, body: { status: 'ready' } });
    await stop(first);
  }, 120_000);
});

describe('the memory default', () => {
  it('says in one log line that accounts are lost on restart and how to keep them', async () => {
    const server = await startServer({});
    const warnings = server.child
      .stdout()
      .split('\n')
      .filter((line) => line.includes('lost on restart'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 40,
      msg: 'accounts and sessions are kept in memory and lost on restart; to keep them, set DATABASE_URL=file:./data/auth (see "Storage" in the README)',
    });
    await stop(server);
  }, 60_000);
});

describe('an unreachable DATABASE_URL in production', () => {
  it('exits with one line naming the variable and never the password', async () => {
    const port = await freePort();
    const unused = await freePort();
    const child = spawnNode('dist/server.js', {
      isolateConfig: true,
      env: {
        NODE_ENV: 'production',
        PORT: String(port),
        ...SECRETS,
        DATABASE_URL: `postgres://auth:s3cr3t-pa55word@127.0.0.1:${unused}/auth`,
      },
    });
    await expect(child.waitForExit(20_000)).resolves.toEqual({ code: 1, signal: null });
    expect(child.stderr().trim().split('\n')).toEqual([
      `Start-up failed: cannot reach the database at 127.0.0.1:${unused}/auth (DATABASE_URL): ECONNREFUSED`,
    ]);
    expect(child.stdout() + child.stderr()).not.toContain('s3cr3t');
  }, 60_000);
});

describeWithPostgres('DATABASE_URL=postgres://… (a real PostgreSQL)', (url) => {
  const schemas: string[] = [];

  afterAll(async () => {
    for (const schema of schemas) await dropSchema(url, schema);
  });

  function schemaForTest(): string {
    const schema = uniqueSchema();
    schemas.push(schema);
    return schema;
  }

  it('keeps every user, live session and ended session across a restart', async () => {
    await restartKeepsEverything({ DATABASE_URL: url, DATABASE_SCHEMA: schemaForTest() });
  }, 120_000);

  it('migrates a fresh schema once when two instances start at the same moment', async () => {
    const schema = schemaForTest();
    const env = { DATABASE_URL: url, DATABASE_SCHEMA: schema };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    for (const server of [a, b]) {
      await expect(requestJson(server.port, 'GET', '/ready')).resolves.toMatchObject({ status: 200 });
    }
    const client = await inspector(url);
    try {
      const { rows } = await client.query(`select name from ${client.escapeIdentifier(schema)}.kysely_migration order by name`);
      expect(rows).toEqual(Object.keys(MIGRATIONS).map((name) => ({ name })));
    } finally {
      await client.end();
    }
    // Which instance applied the migration is a race; that exactly one did is not.
    const all = JSON.stringify(Object.keys(MIGRATIONS));
    const applied = [a, b].map((server) => server.child.stdout().includes(`"migrated":${all}`));
    expect(applied.filter(Boolean)).toHaveLength(1);
    await Promise.all([stop(a), stop(b)]);
  }, 120_000);

  it('logs out on one instance and the other refuses the access token within a second', async () => {
    const env = { DATABASE_URL: url, DATABASE_SCHEMA: schemaForTest() };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    const email = `shared.${process.pid}@example.com`;
    expect((await requestJson(a.port, 'POST', '/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const tokens = await login(b.port, email);
    expect((await requestJson(a.port, 'GET', '/profile', { headers: bearer(tokens.access_token) })).status).toBe(200);

    expect((await requestJson(a.port, 'POST', '/logout', { headers: bearer(tokens.access_token) })).status).toBe(204);
    const loggedOutAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - loggedOutAt < 1000) {
      status = (await requestJson(b.port, 'GET', '/profile', { headers: bearer(tokens.access_token) })).status;
    }
    expect(status).toBe(401);
    expect(Date.now() - loggedOutAt).toBeLessThan(1000);
    await Promise.all([stop(a), stop(b)]);
  }, 120_000);

  it('gives concurrent refreshes of one token on two instances one successor', async () => {
    const env = { DATABASE_URL: url, DATABASE_SCHEMA: schemaForTest(), REFRESH_REUSE_GRACE: '10s' };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    const email = `race.${process.pid}@example.com`;
    expect((await requestJson(a.port, 'POST', '/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const tokens = await login(a.port, email);

    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        requestJson(i % 2 === 0 ? a.port : b.port, 'POST', '/refresh', { body: { refresh_token: tokens.refresh_token } }),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(10).fill(200));
    const successors = new Set(answers.map((res) => (res.body as { refresh_token: string }).refresh_token));
    expect(successors.size).toBe(1);
    await Promise.all([stop(a), stop(b)]);
  }, 120_000);
});
