// What the logs may hold: one line per request with id, method, path and status, and never a credential.
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { hashOneTimeToken } from '../../src/auth/one-time-tokens';
import type { Stores } from '../../src/stores/types';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { freePort } from '../helpers/child-process';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, login, PASSWORD, register, uniqueEmail, type TokenResponseBody } from '../helpers/fixtures';
import { appOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';
import { loggedMail, settled, theTokenMailed } from './mail-log';

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

  describe('the log of the account lifecycle', () => {
    const NEW_PASSWORD = 'lifecycle-new-secret-pw-0815';
    const RESET_PASSWORD = 'lifecycle-reset-secret-pw-2342';
    const WRONG_CURRENT = 'lifecycle-wrong-current-pw-1337';
    const WRONG_DELETE = 'lifecycle-wrong-delete-pw-9001';
    let world: TestApp;
    const secrets: Record<string, string> = {};
    const tokens: Record<string, string> = {};
    const statuses: string[] = [];

    beforeAll(async () => {
      world = await appOn(backend);
      const { app } = world;
      const sent = async (what: string, req: request.Test) => {
        const res = await req;
        statuses.push(`${what} ${res.status}`);
        return res;
      };
      const from = world.logs.length;
      const { email, user } = await register(app);
      await settled(app);
      tokens.verification = theTokenMailed(world.logs, email, 'verification', from);
      const hashOf = async () => (await world.stores.users.findById(user.id))!.passwordHash;
      secrets['hash after registration'] = await hashOf();
      const first = await login(app, email);

      await sent('change, wrong current', request(app).post('/password/change').set(...bearer(first.access_token)).send({ current_password: WRONG_CURRENT, new_password: NEW_PASSWORD }));
      const changed = await sent('change', request(app).post('/password/change').set(...bearer(first.access_token)).send({ current_password: PASSWORD, new_password: NEW_PASSWORD }));
      secrets['hash after the change'] = await hashOf();
      const forgotFrom = world.logs.length;
      await sent('forgot', request(app).post('/password/forgot').send({ email }));
      await sent('forgot, unknown', request(app).post('/password/forgot').send({ email: uniqueEmail('nobody') }));
      await settled(app);
      tokens.reset = theTokenMailed(world.logs, email, 'reset', forgotFrom);
      await sent('reset, wrong token', request(app).post('/password/reset').send({ token: `${tokens.reset}x`, new_password: RESET_PASSWORD }));
      await sent('reset', request(app).post('/password/reset').send({ token: tokens.reset, new_password: RESET_PASSWORD }));
      await sent('reset, used token', request(app).post('/password/reset').send({ token: tokens.reset, new_password: RESET_PASSWORD }));
      secrets['hash after the reset'] = await hashOf();
      await sent('verify', request(app).post('/email/verify').send({ token: tokens.verification }));
      await sent('verify, used token', request(app).post('/email/verify').send({ token: tokens.verification }));
      const again = await login(app, email, RESET_PASSWORD);
      await sent('resend', request(app).post('/email/verify/resend').set(...bearer(again.access_token)));
      await sent('delete, wrong password', request(app).delete('/profile').set(...bearer(again.access_token)).send({ password: WRONG_DELETE }));
      await sent('delete', request(app).delete('/profile').set(...bearer(again.access_token)).send({ password: RESET_PASSWORD }));
      await sent('change, deleted account', request(app).post('/password/change').set(...bearer(again.access_token)).send({ current_password: RESET_PASSWORD, new_password: NEW_PASSWORD }));
      await settled(app);
      await new Promise((resolve) => setImmediate(resolve));

      Object.assign(secrets, {
        'current password': PASSWORD,
        'new password of the change': NEW_PASSWORD,
        'new password of the reset': RESET_PASSWORD,
        'wrong current password': WRONG_CURRENT,
        'wrong password at deletion': WRONG_DELETE,
        'access token of the changed session': (changed.body as TokenResponseBody).access_token,
        'refresh token of the changed session': (changed.body as TokenResponseBody).refresh_token,
      });
      for (const name of ['hash after registration', 'hash after the change', 'hash after the reset']) secrets[`${name} (digest)`] = secrets[name]!.slice(7);
    });

    it('made the journey it claims: a change, a reset, a verification, a resend and a deletion, with their refusals', () => {
      expect(statuses).toEqual([
        'change, wrong current 401',
        'change 200',
        'forgot 202',
        'forgot, unknown 202',
        'reset, wrong token 400',
        'reset 204',
        'reset, used token 400',
        'verify 200',
        'verify, used token 400',
        'resend 202',
        'delete, wrong password 401',
        'delete 204',
        'change, deleted account 401',
      ]);
    });

    it.each([
      'current password',
      'new password of the change',
      'new password of the reset',
      'wrong current password',
      'wrong password at deletion',
      'hash after registration',
      'hash after registration (digest)',
      'hash after the change',
      'hash after the change (digest)',
      'hash after the reset',
      'hash after the reset (digest)',
      'access token of the changed session',
      'refresh token of the changed session',
    ])('never contains the %s', (name) => {
      expect(secrets[name]).toEqual(expect.any(String));
      expect(world.logs.filter((line) => line.includes(secrets[name]!))).toEqual([]);
    });

    it('never contains a bcrypt hash, nor the fields current_password and new_password', () => {
      const all = world.logs.join('\n');
      expect(all).not.toMatch(/\$2[aby]\$\d\d\$/);
      expect(all).not.toMatch(/current_password|new_password/);
    });

    it('holds each one-time token in its mail line only (the development log outside production without SMTP_URL), nowhere else', () => {
      for (const [kind, token] of Object.entries(tokens)) {
        const holding = world.logs.map((line, index) => ({ line, index })).filter(({ line }) => line.includes(token));
        const mailLines = loggedMail(world.logs).filter((mail) => mail.token === token).map((mail) => mail.line);
        expect({ kind, lines: holding.map(({ index }) => index) }).toEqual({ kind, lines: mailLines });
        expect(mailLines).toHaveLength(1);
      }
    });
  });

  describe('the log of the account lifecycle with SMTP_URL set (as in production)', () => {
    const created: string[] = [];
    let world: TestApp;
    let email: string;

    /** The backend's stores, noting the hash of every one-time token stored: the tokens themselves are nowhere to be read. */
    function notingTokens(stores: Stores): Stores {
      const oneTimeTokens = new Proxy(stores.oneTimeTokens, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const method = (value as (...args: unknown[]) => unknown).bind(target);
          if (property !== 'create') return method;
          return (record: { hash: string }) => {
            created.push(record.hash);
            return method(record);
          };
        },
      });
      return new Proxy(stores, {
        get(target, property) {
          if (property === 'oneTimeTokens') return oneTimeTokens;
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    }

    beforeAll(async () => {
      // A port nothing listens on: every delivery fails at once, and its failure is logged.
      const smtpUrl = `smtp://mailer:mail-secret-pw@127.0.0.1:${await freePort()}`;
      const clock = new FakeClock();
      world = buildTestApp({ env: { SMTP_URL: smtpUrl, APP_URL: 'https://app.example.test' }, clock, stores: notingTokens(await backend.open(clock)) });
      const { app } = world;
      ({ email } = await register(app));
      expect((await request(app).post('/password/forgot').send({ email })).status).toBe(202);
      await app.services.background.idle();
      // Closing gives up at once on what could not be sent, and logs it.
      await (app.services.mailer as { close(options?: { timeoutMs?: number }): Promise<void> }).close({ timeoutMs: 2000 });
    });

    it('stored a verification and a reset token (the mails the log must not give away)', () => {
      expect(created).toHaveLength(2);
    });

    it('logged the deliveries that failed (so the check below reads real mail lines)', () => {
      const failures = world.logs.map((line) => JSON.parse(line) as { level?: number; mail?: unknown }).filter((entry) => (entry.level ?? 0) >= 40 && entry.mail);
      expect(failures.length).toBeGreaterThanOrEqual(2);
    });

    it('never contains a one-time token, a link to one, the address, or the SMTP password', () => {
      // Any run of base64url characters in the log that hashes to a stored token would be one.
      const candidates = world.logs.join('\n').match(/[A-Za-z0-9_-]{32,}/g) ?? [];
      expect(candidates.filter((candidate) => created.includes(hashOneTimeToken(candidate)))).toEqual([]);
      expect(world.logs.filter((line) => /token=|reset-password|verify-email/.test(line))).toEqual([]);
      expect(world.logs.filter((line) => line.includes(email) || line.includes('mail-secret-pw'))).toEqual([]);
      expect(loggedMail(world.logs)).toEqual([]);
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
