// createAuth, the root export: its router mounted under /auth in another Express app, that app's own routes guarded by its verifyToken.
import express, { type Express } from 'express';
import request from 'supertest';
import { createAuth, ConfigError, type Auth, type AuthApp } from '../../src/index';
import { rawRequest } from '../helpers/raw-http';
import { createLogger } from '../../src/lib/logger';
import { logLines } from '../helpers/log-lines';
import { TEST_ENV } from '../helpers/test-config';

const PASSWORD = 'correct horse battery staple';

/** The host's own answers, told apart from the auth server's: a 404 of the host is not JSON of the API's error shape. */
function hostApp(auth: Auth): Express {
  const host = express();
  host.get('/', (_req, res) => void res.send('host home'));
  host.use('/auth', auth.router);
  host.get('/notes', auth.verifyToken, (req, res) => void res.json({ owner: req.auth!.userId, role: req.auth!.role }));
  host.get('/admin/report', auth.verifyToken, auth.requireRole('admin'), (_req, res) => void res.json({ report: 'ok' }));
  host.post('/export', auth.verifyToken, auth.requireAmr('otp'), (_req, res) => void res.json({ exported: true }));
  host.use((_req, res) => void res.status(404).type('text').send('host 404'));
  return host;
}

describe('createAuth', () => {
  let auth: Auth;
  let host: Express;

  beforeAll(async () => {
    const { sink } = logLines();
    auth = await createAuth({ env: TEST_ENV, logger: createLogger('info', sink) });
    host = hostApp(auth);
  });
  afterAll(() => auth.close());

  async function signIn(email: string): Promise<string> {
    const registered = await request(host).post('/auth/register').send({ email, password: PASSWORD });
    expect(registered.status).toBe(201);
    const login = await request(host).post('/auth/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    return login.body.access_token as string;
  }

  it('resolves to the app, the router, the middleware, the config and close', () => {
    expect({
      app: typeof auth.app.listen,
      router: typeof auth.router,
      verifyToken: typeof auth.verifyToken,
      requireRole: typeof auth.requireRole,
      requireAmr: typeof auth.requireAmr,
      close: typeof auth.close,
      issuer: auth.config.jwt.issuer,
    }).toEqual({ app: 'function', router: 'function', verifyToken: 'function', requireRole: 'function', requireAmr: 'function', close: 'function', issuer: 'auth-server' });
  });

  it('serves every route under the prefix: register, log in, the profile, refresh and logout at /auth', async () => {
    const email = 'mounted@example.com';
    const access = await signIn(email);
    const profile = await request(host).get('/auth/profile').set('Authorization', `Bearer ${access}`);
    expect(profile.status).toBe(200);
    expect(profile.body.user.email).toBe(email);

    const login = await request(host).post('/auth/login').send({ email, password: PASSWORD });
    const refreshed = await request(host).post('/auth/refresh').send({ refresh_token: login.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.token_type).toBe('Bearer');
    const logout = await request(host).post('/auth/logout').set('Authorization', `Bearer ${refreshed.body.access_token}`).send({});
    expect(logout.status).toBe(204);
  });

  it("guards the host's own route: 401 with the RFC 6750 challenge without a token, req.auth with one", async () => {
    const none = await request(host).get('/notes');
    expect(none.status).toBe(401);
    // RFC 6750 §3.1: a request without a token gets the bare challenge, no error code in it.
    expect(none.headers['www-authenticate']).toBe('Bearer realm="auth"');
    expect(none.body).toEqual({ error: 'unauthorized', error_description: expect.any(String) });

    const access = await signIn('host-route@example.com');
    const notes = await request(host).get('/notes').set('Authorization', `Bearer ${access}`);
    expect(notes.status).toBe(200);
    const profile = await request(host).get('/auth/profile').set('Authorization', `Bearer ${access}`);
    expect(notes.body).toEqual({ owner: profile.body.user.id, role: 'user' });
  });

  it("refuses a user on the host's admin route with 403 insufficient_scope", async () => {
    const access = await signIn('not-admin@example.com');
    const res = await request(host).get('/admin/report').set('Authorization', `Bearer ${access}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });

  it("asks for the second factor on the host's step-up route: 403 insufficient_scope after a password-only sign-in", async () => {
    const access = await signIn('step-up@example.com');
    const res = await request(host).post('/export').set('Authorization', `Bearer ${access}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
  });

  it("ends access on the host's route as soon as the session is logged out", async () => {
    const access = await signIn('logged-out@example.com');
    expect((await request(host).get('/notes').set('Authorization', `Bearer ${access}`)).status).toBe(200);
    expect((await request(host).post('/auth/logout').set('Authorization', `Bearer ${access}`).send({})).status).toBe(204);
    const after = await request(host).get('/notes').set('Authorization', `Bearer ${access}`);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid_token');
  });

  it('answers an unknown path under the prefix with its own JSON 404, and leaves the rest of the host alone', async () => {
    const unknown = await request(host).get('/auth/no/such/route');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
    const hostMissing = await request(host).get('/elsewhere');
    expect([hostMissing.status, hostMissing.text]).toEqual([404, 'host 404']);
    expect((await request(host).get('/')).text).toBe('host home');
  });

  it('answers every documented operation under the prefix as it does at the root of its own app', async () => {
    const document = (await request(host).get('/auth/openapi.json')).body as { servers: { url: string }[]; paths: Record<string, Record<string, unknown>> };
    expect(document.servers).toEqual([{ url: '/auth' }]);
    const operations = Object.entries(document.paths).flatMap(([route, item]) =>
      Object.keys(item).map((method) => ({ method, path: route.replace(/\{[^}]+\}/g, 'x') })),
    );
    expect(operations.length).toBeGreaterThan(30);
    const seen = [];
    const expected = [];
    // Without credentials or a body, each answer changes nothing: the same request must get the same answer in both places.
    for (const { method, path } of operations) {
      const call = (app: Express, url: string) => (request(app) as unknown as Record<string, (url: string) => request.Test>)[method]!(url);
      const atRoot = await call(auth.app, path);
      const mounted = await call(host, `/auth${path}`);
      expected.push(`${method} ${path} ${atRoot.status} ${atRoot.body?.error ?? ''}`);
      seen.push(`${method} ${path} ${mounted.status} ${mounted.body?.error ?? ''}`);
    }
    expect(seen).toEqual(expected);
  });

  it('serves the docs page with its assets and its document under the prefix', async () => {
    const page = await request(host).get('/auth/docs');
    expect(page.status).toBe(200);
    const urls = [...page.text.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
    expect(urls.length).toBeGreaterThan(3);
    for (const url of urls) {
      expect(url.startsWith('/auth/docs/')).toBe(true);
      expect((await request(host).get(url)).status).toBe(200);
    }
    const init = await request(host).get('/auth/docs/swagger-ui-init.js');
    expect(init.text).toContain('"swaggerUrl": "/auth/openapi.json"');
  });

  it('writes no markup from the request into the docs or demo page when mounted under a route parameter', async () => {
    const tenant = express();
    tenant.use('/:tenant', auth.router);
    const asApp = tenant as unknown as AuthApp;
    // Sent raw: quotes and angle brackets unencoded, which Node's parser lets through into req.baseUrl.
    const hostile = '/a"><script>';
    for (const path of [`${hostile}/docs`, `${hostile}/`, `${hostile}/docs/swagger-ui-init.js`]) {
      const res = await rawRequest(asApp, { method: 'GET', path });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('"><script>');
    }
  });

  it('rejects a bad configuration with ConfigError naming the variable, before opening anything', async () => {
    const failure = createAuth({ env: { ...TEST_ENV, ACCESS_TOKEN_TTL: 'soon' } });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/ACCESS_TOKEN_TTL/);
  });
});
