// What the logs may hold: one line per request with id, method, path and status, and never a credential.
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import type { TestApp } from '../helpers/build-app';
import { bearer, PASSWORD, register, type TokenResponseBody } from '../helpers/fixtures';
import { appOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';

// Runs on each storage backend: the requests logged register, log in and refresh against it. PGlite is left out: PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('logging', (backend) => {
  const WRONG_PASSWORD = 'wrong-but-secret-pw-4711';

  interface Sent {
    method: string;
    path: string;
    status: number;
    requestId: string;
  }

  interface LogLine {
    msg?: string;
    req?: { id?: unknown; method?: unknown; path?: unknown; headers?: unknown };
    res?: { status?: unknown; headers?: unknown };
  }

  describe('the request log', () => {
    let world: TestApp;
    const sent: Sent[] = [];
    const secrets: Record<string, string> = {};
    let lines: LogLine[];

    /** Sends one request and remembers what the log should say about it. */
    async function send(method: string, path: string, req: request.Test) {
      const res = await req;
      sent.push({ method, path, status: res.status, requestId: res.headers['x-request-id']! });
      return res;
    }

    function remember(name: string, token: string) {
      secrets[name] = token;
      secrets[`${name} signature`] = token.split('.')[2]!;
      secrets[`${name} payload`] = token.split('.')[1]!;
    }

    beforeAll(async () => {
      world = await appOn(backend);
      const { app } = world;
      const { email } = await register(app);
      sent.length = 0;
      world.logs.length = 0;

      const other = 'logged.user@example.com';
      await send('POST', '/register', request(app).post('/register').send({ email: other, password: PASSWORD }));
      const loginRes = await send('POST', '/login', request(app).post('/login').send({ email: other, password: PASSWORD }));
      const first = loginRes.body as TokenResponseBody;
      remember('login access token', first.access_token);
      remember('login refresh token', first.refresh_token);

      const refreshRes = await send('POST', '/refresh', request(app).post('/refresh').send({ refresh_token: first.refresh_token }));
      const second = refreshRes.body as TokenResponseBody;
      remember('refreshed access token', second.access_token);
      remember('refreshed refresh token', second.refresh_token);

      secrets['Authorization header'] = `Bearer ${second.access_token}`;
      await send('GET', '/profile', request(app).get('/profile').set(...bearer(second.access_token)));
      await send('GET', '/profile', request(app).get(`/profile?access_token=${second.access_token}`));
      await send(
        'POST',
        '/logout',
        request(app).post('/logout').set(...bearer(second.access_token)).send({ refresh_token: second.refresh_token }),
      );

      const cookieRes = await send(
        'POST',
        '/login',
        request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD }),
      );
      remember('cookie-mode access token', cookieRes.body.access_token);
      const cookie = (cookieRes.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
      remember('refresh cookie', cookie.slice('__Host-refresh_token='.length));
      secrets['Cookie header'] = cookie;
      await send(
        'POST',
        '/logout',
        request(app).post('/logout').set('X-Token-Mode', 'cookie').set('Cookie', cookie),
      );

      await send('POST', '/login', request(app).post('/login').send({ email, password: WRONG_PASSWORD }));

      secrets.password = PASSWORD;
      secrets['wrong password'] = WRONG_PASSWORD;
      for (const address of [email, other]) {
        const hash = (await world.stores.users.findByEmail(address))!.passwordHash;
        secrets[`bcrypt hash of ${address}`] = hash;
        secrets[`bcrypt digest of ${address}`] = hash.slice(7);
      }
      // The log line is written when the response finishes; let that event run.
      await new Promise((resolve) => setImmediate(resolve));
      lines = world.logs.map((text) => JSON.parse(text) as LogLine);
    });

    it('made the journey it claims: register, login, refresh, profile, logout, cookie login and logout, a failed login', () => {
      expect(sent.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual([
        'POST /register 201',
        'POST /login 200',
        'POST /refresh 200',
        'GET /profile 200',
        'GET /profile 400',
        'POST /logout 204',
        'POST /login 200',
        'POST /logout 204',
        'POST /login 401',
      ]);
    });

    it.each([
      'password',
      'wrong password',
      'login access token',
      'login access token signature',
      'login refresh token',
      'login refresh token signature',
      'refreshed access token',
      'refreshed access token signature',
      'refreshed refresh token',
      'refreshed refresh token signature',
      'cookie-mode access token',
      'cookie-mode access token signature',
      'refresh cookie',
      'refresh cookie signature',
      'Authorization header',
      'Cookie header',
    ])('never contains the %s', (name) => {
      expect(secrets[name]).toEqual(expect.any(String));
      expect(world.logs.filter((line) => line.includes(secrets[name]!))).toEqual([]);
    });

    it('never contains a bcrypt hash or a token payload', () => {
      const hashes = Object.entries(secrets).filter(([name]) => name.startsWith('bcrypt') || name.endsWith('payload'));
      expect(hashes.length).toBe(4 + 6);
      for (const [name, value] of hashes) {
        expect({ name, lines: world.logs.filter((line) => line.includes(value)) }).toEqual({ name, lines: [] });
      }
      expect(world.logs.join('\n')).not.toMatch(/\$2[aby]\$\d\d\$/);
      expect(world.logs.join('\n')).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+/);
    });

    it('never contains request or response headers', () => {
      for (const line of lines) {
        expect(line.req?.headers).toBeUndefined();
        expect(line.res?.headers).toBeUndefined();
      }
    });

    it('writes one "request completed" line per request, with its id, method, path and status', () => {
      const completed = lines.filter((line) => line.msg === 'request completed');
      expect(completed.map((line) => ({ req: line.req, status: line.res?.status }))).toEqual(
        sent.map((s) => ({
          req: expect.objectContaining({ id: s.requestId, method: s.method, path: s.path }),
          status: s.status,
        })),
      );
      expect(new Set(sent.map((s) => s.requestId)).size).toBe(sent.length);
    });
  });

  describe('the request log of introspection clients and ES256 keys', () => {
    const client = { id: 'logged-client', secret: 'log-Tz6yU1iO4pA8sD2fG5hJ9kL3zX7cV0bN-client' };
    const basic = (secret: string) => `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privatePem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    let world: TestApp;
    const secrets: Record<string, string> = {};

    beforeAll(async () => {
      world = await appOn(backend, { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: privatePem, INTROSPECTION_CLIENTS: `${client.id}:${client.secret}` });
      const { app } = world;
      const { email } = await register(app);
      const tokens = (await request(app).post('/login').send({ email, password: PASSWORD })).body as TokenResponseBody;

      const introspected = await request(app).post('/introspect').set('Authorization', basic(client.secret)).type('form').send({ token: tokens.access_token });
      expect(introspected.body.active).toBe(true);
      const refused = await request(app).post('/introspect').set('Authorization', basic(`${client.secret}-wrong`)).send({ token: tokens.access_token });
      expect(refused.status).toBe(401);
      expect((await request(app).get('/.well-known/jwks.json')).status).toBe(200);
      expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);

      secrets['introspection client secret'] = client.secret;
      secrets['Basic header of the client'] = basic(client.secret).slice('Basic '.length);
      secrets['Basic header with a wrong secret'] = basic(`${client.secret}-wrong`).slice('Basic '.length);
      secrets['ES256 access token'] = tokens.access_token;
      secrets['ES256 access token signature'] = tokens.access_token.split('.')[2]!;
      secrets['ES256 private key (PEM body)'] = privatePem.split('\n')[1]!;
      secrets['ES256 private key (d)'] = String(privateKey.export({ format: 'jwk' }).d);
      await new Promise((resolve) => setImmediate(resolve));
    });

    it('logged the requests (so the checks below read real lines)', () => {
      const paths = world.logs.map((line) => (JSON.parse(line) as LogLine).req?.path).filter(Boolean);
      expect(paths).toEqual(expect.arrayContaining(['/introspect', '/.well-known/jwks.json', '/profile']));
    });

    it.each([
      'introspection client secret',
      'Basic header of the client',
      'Basic header with a wrong secret',
      'ES256 access token',
      'ES256 access token signature',
      'ES256 private key (PEM body)',
      'ES256 private key (d)',
    ])('never contains the %s', (name) => {
      expect(secrets[name]).toEqual(expect.any(String));
      expect(world.logs.filter((line) => line.includes(secrets[name]!))).toEqual([]);
      expect(world.logs.join('\n')).not.toMatch(/PRIVATE KEY/);
    });
  });
}, { pglite: 'never' });
