// HTTP conventions every route follows: 404/405/OPTIONS, security headers, request ids, health, readiness and CORS.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { createMemoryStores } from '../../src/stores/memory';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, expectError, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { expectNoInternals } from '../helpers/no-leak';

const ROUTES: [string, string][] = [
  ['/register', 'POST'],
  ['/login', 'POST'],
  ['/refresh', 'POST'],
  ['/logout', 'POST'],
  ['/profile', 'GET, HEAD, DELETE'],
  ['/sessions', 'GET, HEAD'],
  ['/sessions/some-id', 'DELETE'],
  ['/admin/users', 'GET, HEAD, POST'],
  ['/admin/users/x', 'GET, HEAD, PATCH, DELETE'],
  ['/admin/users/x/sessions', 'DELETE'],
  ['/admin/users/x/mfa', 'DELETE'],
  ['/admin/audit', 'GET, HEAD'],
  ['/health', 'GET, HEAD'],
  ['/ready', 'GET, HEAD'],
  ['/password/change', 'POST'],
  ['/password/forgot', 'POST'],
  ['/password/reset', 'POST'],
  ['/email/verify', 'POST'],
  ['/email/verify/resend', 'POST'],
  ['/metrics', 'GET, HEAD'],
];

/** Methods a route does not have, as supertest method names. */
function otherMethods(allow: string): ('get' | 'post' | 'put' | 'patch' | 'delete')[] {
  return (['get', 'post', 'put', 'patch', 'delete'] as const).filter((m) => !allow.split(', ').includes(m.toUpperCase()));
}

describe('routes and methods', () => {
  const { app } = buildTestApp();

  it.each([
    ['get', '/nope'],
    ['post', '/nope'],
    ['get', '/profile/extra'],
    ['delete', '/sessions/a/b'],
    ['get', '/admin'],
    ['delete', '/admin/users/a/b'],
  ] as const)('answers %s %s, an unknown route, by 404 not_found', async (method, path) => {
    const res = await request(app)[method](path);
    expect(expectError(res, 404, 'not_found').error_description).toBe('No such route.');
    expect(res.headers['allow']).toBeUndefined();
  });

  it.each(ROUTES.flatMap(([path, allow]) => otherMethods(allow).map((method) => [method.toUpperCase(), path, allow])))(
    'answers %s %s by 405 method_not_allowed with Allow "%s"',
    async (method, path, allow) => {
      const res = await request(app)[method!.toLowerCase() as 'get'](path!);
      expectError(res, 405, 'method_not_allowed');
      expect(res.headers['allow']).toBe(allow);
    },
  );

  it('answers GET /login with Allow "POST", POST /profile with "GET, HEAD, DELETE" and PUT /sessions/x with "DELETE"', async () => {
    expect((await request(app).get('/login')).headers['allow']).toBe('POST');
    expect((await request(app).post('/profile')).headers['allow']).toBe('GET, HEAD, DELETE');
    expect((await request(app).put('/sessions/x')).headers['allow']).toBe('DELETE');
  });

  it.each(ROUTES)('answers OPTIONS %s by 204 with Allow "%s" and no body', async (path, allow) => {
    const res = await request(app).options(path);
    expect(res.status).toBe(204);
    expect(res.headers['allow']).toBe(allow);
    expect(res.text).toBe('');
  });
});

describe('response headers', () => {
  const { app } = buildTestApp();
  let accessToken: string;

  beforeAll(async () => {
    accessToken = (await registerAndLogin(app)).tokens.access_token;
  });

  const requests: [string, (a: AuthApp) => request.Test][] = [
    ['200 GET /health', (a) => request(a).get('/health')],
    ['200 GET /profile', (a) => request(a).get('/profile').set(...bearer(accessToken))],
    ['201 POST /register', (a) => request(a).post('/register').send({ email: uniqueEmail('headers'), password: PASSWORD })],
    ['204 OPTIONS /login', (a) => request(a).options('/login')],
    ['400 POST /login with malformed JSON', (a) => request(a).post('/login').set('Content-Type', 'application/json').send('{')],
    ['401 GET /profile', (a) => request(a).get('/profile')],
    ['404 GET /nope', (a) => request(a).get('/nope')],
    ['405 GET /login', (a) => request(a).get('/login')],
    ['413 POST /login', (a) => request(a).post('/login').send({ email: 'x'.repeat(11 * 1024) })],
    ['415 POST /login', (a) => request(a).post('/login').set('Content-Type', 'text/plain').send('hi')],
  ];

  it.each(requests)('sets the security headers on a %s response', async (what, send) => {
    const res = await send(app);
    expect(res.status).toBe(Number(what.slice(0, 3)));
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('gives every response its own request id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i += 1) ids.add((await request(app).get('/health')).headers['x-request-id']!);
    expect(ids.size).toBe(5);
  });

  it('echoes a safe incoming X-Request-Id', async () => {
    const res = await request(app).get('/health').set('X-Request-Id', 'lb-7f3a.2_B-9');
    expect(res.headers['x-request-id']).toBe('lb-7f3a.2_B-9');
  });

  it.each(['has spaces', 'x"><script>', 'a'.repeat(65), 'line\tbreak', 'ünïcode'])(
    'replaces an unsafe incoming X-Request-Id %j with its own',
    async (unsafe) => {
      const res = await request(app).get('/health').set('X-Request-Id', unsafe);
      expect(res.headers['x-request-id']).not.toBe(unsafe);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    },
  );
});

describe('health and readiness', () => {
  it('answers GET /health by 200 {"status":"ok"}', async () => {
    const res = await request(buildTestApp().app).get('/health');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers GET /ready by 200 {"status":"ready"} when the stores answer', async () => {
    const res = await request(buildTestApp().app).get('/ready');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ status: 'ready' });
  });

  it('answers GET /ready by 503 unavailable when a store is down, without its error message', async () => {
    const clock = new FakeClock();
    const stores = {
      ...createMemoryStores(clock),
      ping: async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:6379 (redis-internal.corp)');
      },
    };
    const { app } = buildTestApp({ clock, stores });
    const res = await request(app).get('/ready');
    expect(expectError(res, 503, 'unavailable').error_description).toBe('A backing store is unreachable.');
    expect(res.text).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|6379|redis/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expectNoInternals(res);

    const health = await request(app).get('/health');
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok' } });
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';

  function preflight(app: AuthApp, origin: string) {
    return request(app)
      .options('/login')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, x-token-mode');
  }

  it('answers a preflight from a configured origin with credentials and the Authorization and X-Token-Mode headers', async () => {
    const { app } = buildTestApp({ env: { CORS_ORIGINS: ORIGIN } });
    const res = await preflight(app, ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const allowed = res.headers['access-control-allow-headers']!.toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'x-token-mode', 'content-type']));
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['vary']).toMatch(/Origin/);
  });

  it('lets a configured origin read a response, with credentials', async () => {
    const { app } = buildTestApp({ env: { CORS_ORIGINS: `${ORIGIN},https://admin.example.com` } });
    const res = await request(app).get('/health').set('Origin', ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });

  it.each(['https://evil.example.com', 'http://app.example.com', 'https://app.example.com.evil.net', 'null'])(
    'gives the foreign origin %s no Access-Control-Allow-Origin',
    async (origin) => {
      const { app } = buildTestApp({ env: { CORS_ORIGINS: ORIGIN } });
      const pre = await preflight(app, origin);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const res = await request(app).get('/health').set('Origin', origin);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    },
  );

  it('gives no origin Access-Control-Allow-Origin when CORS_ORIGINS is not set', async () => {
    const { app } = buildTestApp();
    for (const origin of [ORIGIN, 'https://evil.example.com', 'null']) {
      const pre = await preflight(app, origin);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      const res = await request(app).get('/health').set('Origin', origin);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});
