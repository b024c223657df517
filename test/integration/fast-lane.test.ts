// GET /profile and POST /refresh through the fast lane answer exactly as through Express's router, and everything else still takes the router.
import express from 'express';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { createErrorHandler } from '../../src/http/error-handler';
import { openFastLane } from '../../src/http/fast-lane';
import { createLogger } from '../../src/lib/logger';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { bearer, expectError, login, register, registerAndLogin } from '../helpers/fixtures';
import { logLines } from '../helpers/log-lines';

const SPA = 'https://spa.example';

/** GET /profile as sent (the fast lane), or spelt so that only the router matches it. */
type Send = (path: string) => request.Test;

/** What a client sees of an answer, without what differs on every request anyway. */
async function answer(send: Send, path: string) {
  const res = await send(path);
  const { 'x-request-id': requestId, date, ...headers } = res.headers;
  expect(requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(date).toBeDefined();
  return { status: res.status, headers, body: res.body as unknown };
}

/** The router's handle, watched: the fast lane must answer without it. */
function watchRouter(app: AuthApp) {
  const router = (app as unknown as { router: { handle: (...args: unknown[]) => void } }).router;
  return jest.spyOn(router, 'handle');
}

/**
 * Sends a request through the lane (`lanePath`), then through the router (`routerPath`), with a
 * spy proving which way each went; both must give the same answer, which is returned.
 */
async function bothWays<A extends { status: number; headers: Record<string, unknown> }>(
  app: AuthApp,
  read: (path: string) => Promise<A>,
  [lanePath, routerPath]: [string, string],
  status: number,
): Promise<A> {
  const router = watchRouter(app);
  const fast = await read(lanePath);
  expect(router).not.toHaveBeenCalled();
  const routed = await read(routerPath);
  expect(router).toHaveBeenCalledTimes(1);

  expect(fast.status).toBe(status);
  expect(fast).toEqual(routed);
  expect(fast.headers['cache-control']).toBe('no-store');
  expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
  return fast;
}

const cases: [string, (t: TestApp) => Promise<Send>, number][] = [
  [
    'a valid token',
    async ({ app }) => {
      const { tokens } = await registerAndLogin(app);
      return (path) => request(app).get(path).set(...bearer(tokens.access_token));
    },
    200,
  ],
  ['no Authorization header', async ({ app }) => (path) => request(app).get(path), 401],
  ['another scheme', async ({ app }) => (path) => request(app).get(path).set('Authorization', 'Basic dXNlcjpwYXNz'), 401],
  ['a malformed Bearer header', async ({ app }) => (path) => request(app).get(path).set('Authorization', 'Bearer a b'), 400],
  [
    'a token with a wrong signature',
    async ({ app }) => {
      const { tokens } = await registerAndLogin(app);
      const token = tokens.access_token;
      const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BA' : 'AA');
      return (path) => request(app).get(path).set(...bearer(forged));
    },
    401,
  ],
  [
    'an expired token, verified once before it expired',
    async ({ app, clock }) => {
      const { tokens } = await registerAndLogin(app);
      expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);
      clock.advanceSeconds(tokens.expires_in);
      return (path) => request(app).get(path).set(...bearer(tokens.access_token));
    },
    401,
  ],
  [
    'a token of a logged-out session, verified once before',
    async ({ app }) => {
      const { tokens } = await registerAndLogin(app);
      expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);
      const logout = await request(app).post('/logout').set(...bearer(tokens.access_token)).send({ refresh_token: tokens.refresh_token });
      expect(logout.status).toBe(204);
      return (path) => request(app).get(path).set(...bearer(tokens.access_token));
    },
    401,
  ],
  [
    'a valid token from an allowed origin',
    async ({ app }) => {
      const { tokens } = await registerAndLogin(app);
      return (path) => request(app).get(path).set('Origin', SPA).set(...bearer(tokens.access_token));
    },
    200,
  ],
  [
    'a valid token from another origin',
    async ({ app }) => {
      const { tokens } = await registerAndLogin(app);
      return (path) => request(app).get(path).set('Origin', 'https://evil.example').set(...bearer(tokens.access_token));
    },
    200,
  ],
];

describe('the fast lane of GET /profile', () => {
  it.each(cases)('answers %s exactly as the router does', async (_what, prepare, status) => {
    const test = buildTestApp({ env: { CORS_ORIGINS: SPA } });
    const send = await prepare(test);
    const fast = await bothWays(test.app, (path) => answer(send, path), ['/profile', '/PROFILE'], status);
    expect(fast.headers['x-content-type-options']).toBe('nosniff');
  });

  it('logs a request it answers once, as the router would', async () => {
    const { app, logs } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    logs.length = 0;
    const res = await request(app).get('/profile').set(...bearer(tokens.access_token));

    expect(res.status).toBe(200);
    const lines = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        req: { id: res.headers['x-request-id'], method: 'GET', path: '/profile', ip: expect.any(String) },
        res: { status: 200 },
      }),
    ]);
  });

  it.each([
    ['GET /profile?x=1', (app: AuthApp, token: string) => request(app).get('/profile?x=1').set(...bearer(token))],
    ['GET /profile/', (app: AuthApp, token: string) => request(app).get('/profile/').set(...bearer(token))],
    ['HEAD /profile', (app: AuthApp, token: string) => request(app).head('/profile').set(...bearer(token))],
  ])('leaves %s to the router, which answers it', async (_what, send) => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const router = watchRouter(app);
    const res = await send(app, tokens.access_token);

    expect(router).toHaveBeenCalledTimes(1);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('runs the body parser, which refuses a GET /profile with malformed JSON, as the router does', async () => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const router = watchRouter(app);
    const res = await request(app)
      .get('/profile')
      .set(...bearer(tokens.access_token))
      .set('Content-Type', 'application/json')
      .send('{"unfinished":');

    const body = expectError(res, 400, 'invalid_request');
    expect(body.error_description).toBe('The body is not valid JSON.');
    expect(router).not.toHaveBeenCalled();
  });

  it('leaves the other methods of /profile to the router: 405 with Allow', async () => {
    const { app } = buildTestApp();
    const res = await request(app).post('/profile');
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD, DELETE');
  });
});

/** POST /refresh as sent (the fast lane), or spelt so that only the router matches it. */
type SendRefresh = (path: string) => Promise<request.Response>;

/**
 * What a client sees of a refresh answer, with what is new on every answer masked: fresh tokens
 * (in the body and the cookie) and the rate limiter's remaining count, one less each time.
 */
async function refreshAnswer(send: SendRefresh, path: string) {
  const res = await send(path);
  const { 'x-request-id': requestId, date, ...headers } = res.headers;
  expect(requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(date).toBeDefined();
  const jwt = /^[\w-]+\.[\w-]+\.[\w-]+$/;
  const body = { ...(res.body as Record<string, unknown>) };
  for (const key of ['access_token', 'refresh_token']) {
    if (key in body) {
      expect(body[key]).toMatch(jwt);
      body[key] = '<fresh token>';
    }
  }
  if (headers.ratelimit) headers.ratelimit = headers.ratelimit.replace(/r=\d+/, 'r=<remaining>');
  const cookies = headers['set-cookie'] as unknown as string[] | undefined;
  if (cookies) headers['set-cookie'] = cookies.map((cookie) => cookie.replace(/^__Host-refresh_token=[^;]+/, '__Host-refresh_token=<fresh token>')) as never;
  return { status: res.status, headers, body };
}

/** Two sessions of one user: one for the request through the lane, one for the router's. */
async function twoRefreshTokens(app: AuthApp): Promise<string[]> {
  const { email } = await register(app);
  return [(await login(app, email)).refresh_token, (await login(app, email)).refresh_token];
}

const refreshCases: [string, (t: TestApp) => Promise<SendRefresh>, number][] = [
  [
    'a valid refresh token in the body',
    async ({ app }) => {
      const tokens = await twoRefreshTokens(app);
      return async (path) => request(app).post(path).send({ refresh_token: tokens.pop() });
    },
    200,
  ],
  [
    'a valid refresh token in the cookie (cookie mode)',
    async ({ app }) => {
      const tokens = await twoRefreshTokens(app);
      return async (path) => request(app).post(path).set('X-Token-Mode', 'cookie').set('Cookie', `__Host-refresh_token=${tokens.pop()}`).send({});
    },
    200,
  ],
  [
    'a valid refresh token from an allowed origin',
    async ({ app }) => {
      const tokens = await twoRefreshTokens(app);
      return async (path) => request(app).post(path).set('Origin', SPA).send({ refresh_token: tokens.pop() });
    },
    200,
  ],
  ['no refresh token', async ({ app }) => async (path) => request(app).post(path).send({}), 401],
  [
    'a refresh token with a wrong signature',
    async ({ app }) => {
      const [token] = await twoRefreshTokens(app);
      const forged = token!.slice(0, -2) + (token!.endsWith('AA') ? 'BA' : 'AA');
      return async (path) => request(app).post(path).send({ refresh_token: forged });
    },
    401,
  ],
  [
    'a replayed refresh token (its session ends)',
    async ({ app, clock }) => {
      const tokens = await twoRefreshTokens(app);
      for (const token of tokens) expect((await request(app).post('/refresh').send({ refresh_token: token })).status).toBe(200);
      // Past the grace window, in which a replay is handed the same successor.
      clock.advanceSeconds(60);
      return async (path) => request(app).post(path).send({ refresh_token: tokens.pop() });
    },
    401,
  ],
  [
    'malformed JSON',
    async ({ app }) => async (path) => request(app).post(path).set('Content-Type', 'application/json').send('{"refresh_token":'),
    400,
  ],
  ['a form-encoded body', async ({ app }) => async (path) => request(app).post(path).type('form').send('refresh_token=x'), 415],
  [
    'a declared body over 10 kB',
    async ({ app }) => async (path) => request(app).post(path).set('Content-Type', 'application/json').send({ refresh_token: 'x'.repeat(11_000) }),
    413,
  ],
];

describe('the fast lane of POST /refresh', () => {
  it.each(refreshCases)('answers %s exactly as the router does', async (_what, prepare, status) => {
    const test = buildTestApp({ env: { CORS_ORIGINS: SPA } });
    const send = await prepare(test);
    const fast = await bothWays(test.app, (path) => refreshAnswer(send, path), ['/refresh', '/REFRESH'], status);
    // The session's refresh limit was counted: each path refreshed a session of its own.
    if (status === 200) expect(fast.headers.ratelimit).toMatch(/^"session"; r=<remaining>; t=\d+$/);
  });

  it('counts refreshes in the session\'s limit as the router does, and refuses past it with 429', async () => {
    const { app } = buildTestApp({ env: { REFRESH_RATE_LIMIT_MAX: '2' } });
    let [token] = await twoRefreshTokens(app);
    const router = watchRouter(app);
    for (const path of ['/refresh', '/REFRESH']) {
      const res = await request(app).post(path).send({ refresh_token: token });
      expect(res.status).toBe(200);
      token = res.body.refresh_token as string;
    }

    const fast = await request(app).post('/refresh').send({ refresh_token: token });
    const routed = await request(app).post('/REFRESH').send({ refresh_token: token });
    expect(router).toHaveBeenCalledTimes(2);
    for (const res of [fast, routed]) {
      expectError(res, 429, 'rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.headers.ratelimit).toMatch(/^"session"; r=0; t=\d+$/);
    }
  });

  it('leaves OPTIONS, other methods and a query string to the router', async () => {
    const { app } = buildTestApp();
    const router = watchRouter(app);
    const options = await request(app).options('/refresh');
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('POST');
    expectError(await request(app).get('/refresh'), 405, 'method_not_allowed');
    expectError(await request(app).post('/refresh?x=1').send({}), 401, 'invalid_grant');
    expect(router).toHaveBeenCalledTimes(3);
  });
});

describe('openFastLane', () => {
  function laneApp(handlers: express.RequestHandler) {
    const app = express();
    const onError = createErrorHandler(createLogger('silent', logLines().sink));
    app.get('/other', (_req, res) => void res.json({ via: 'router' }));
    app.use(onError);
    openFastLane(app, [{ method: 'GET', path: '/lane', handlers }], onError);
    return app;
  }

  it("renders a handler's thrown error with the app's error handler", async () => {
    const app = laneApp(() => {
      throw new Error('internal detail');
    });
    const res = await request(app).get('/lane');
    expectError(res, 500, 'server_error');
    expect(res.text).not.toContain('internal detail');
  });

  it('answers 404 not_found when the handlers pass the request on', async () => {
    const app = laneApp((_req, _res, next) => next());
    const res = await request(app).get('/lane');
    expectError(res, 404, 'not_found');
  });

  it('gives its handlers Express request and response helpers', async () => {
    const app = laneApp((req, res) => void res.status(201).json({ ip: req.ip, accepts: req.accepts('json') }));
    const res = await request(app).get('/lane').set('Accept', 'application/json');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ ip: expect.stringMatching(/127\.0\.0\.1/), accepts: 'json' });
  });

  it('closes the connection when the error handler itself fails, and the process lives on', async () => {
    const app = express();
    const failingHandler: express.ErrorRequestHandler = () => {
      throw new Error('the error handler broke');
    };
    openFastLane(app, [{ method: 'GET', path: '/lane', handlers: (_req, _res, next) => next(new Error('boom')) }], failingHandler);
    await expect(request(app).get('/lane')).rejects.toThrow(/socket hang up|ECONNRESET/);
    const res = await request(app).get('/elsewhere');
    expect(res.status).toBe(404);
  });

  it('sends every other path to the router', async () => {
    const res = await request(laneApp(() => undefined)).get('/other');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ via: 'router' });
  });
});
