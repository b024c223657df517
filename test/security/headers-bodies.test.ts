// Attacks through headers and bodies: malformed and duplicate Authorization, tokens where they do not belong, oversized and mistyped input, prototype pollution, deep JSON.
import request from 'supertest';
import { allUsers } from '../helpers/all-users';
import {
  auditResponses,
  CLIENT,
  expectVictimUntouched,
  listen,
  rawExchange,
  ResponseRecorder,
  type Target,
} from '../helpers/attack';
import { acceptsConnections, freePort, killStartedChildren, requestJson, spawnTs, type RunningChild } from '../helpers/child-process';
import { PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { rawRequest } from '../helpers/raw-http';
import { targetOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';
import { settled, theTokenMailed } from './mail-log';

// Every attack below runs on each storage backend: what a refused request must leave unchanged (users, sessions, refresh ids) is read back from the backend. PGlite is left out: PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('headers and bodies', (backend) => {
  const recorder = new ResponseRecorder();
  let t: Target;

  /** The victim's own reset and verification links: a body that used one up would change the victim. */
  const links = { reset: '', verification: '' };

  beforeAll(async () => {
    // The attacks send POST /password/change dozens of times with the victim's token, and every
    // change counts against the per-account limit (LOGIN_RATE_LIMIT_MAX): these are about parsing, not limits.
    t = await targetOn(backend, recorder, { LOGIN_RATE_LIMIT_MAX: '1000' });
    await settled(t.http);
    links.verification = theTokenMailed(t.logs, t.victim.email, 'verification');
    const from = t.logs.length;
    expect((await request(t.http).post('/password/forgot').send({ email: t.victim.email })).status).toBe(202);
    await settled(t.http);
    links.reset = theTokenMailed(t.logs, t.victim.email, 'reset', from);
    recorder.secret("the victim's reset token", links.reset);
    recorder.secret("the victim's verification token", links.verification);
  });

  /** Every route that reads a JSON body with fields, as method and path. */
  const BODY_ROUTES = [
    'POST /register',
    'POST /login',
    'POST /refresh',
    'POST /logout',
    'POST /password/change',
    'POST /password/forgot',
    'POST /password/reset',
    'POST /email/verify',
    'DELETE /profile',
  ] as const;
  type BodyRoute = (typeof BODY_ROUTES)[number];
  /** The routes of BODY_ROUTES that want a Bearer token: the victim's own, so that an attack that got through would show on the victim. */
  const BEARER_ROUTES: readonly BodyRoute[] = ['POST /password/change', 'DELETE /profile'];
  const NEW_PASSWORD = 'a new passphrase no attack may set';
  recorder.secret('the new password of the attacks', NEW_PASSWORD);
  const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

  function parts(route: BodyRoute): { method: 'POST' | 'DELETE'; path: string } {
    const [method, path] = route.split(' ') as ['POST' | 'DELETE', string];
    return { method, path };
  }

  /** The request to `route` as a client sends it, with the victim's Bearer token where the route wants one. */
  function open(route: BodyRoute): request.Test {
    const { method, path } = parts(route);
    const req = method === 'DELETE' ? request(t.http).delete(path) : request(t.http).post(path);
    return BEARER_ROUTES.includes(route) ? req.set('Authorization', `Bearer ${t.victim.tokens.access_token}`) : req;
  }

  /** A body each route would accept, so that only the attack's change can be refused. */
  function validBody(route: BodyRoute): Record<string, unknown> {
    switch (route) {
      case 'POST /register':
        return { email: uniqueEmail('never'), password: PASSWORD };
      case 'POST /login':
        return { email: t.victim.email, password: PASSWORD };
      case 'POST /password/change':
        return { current_password: PASSWORD, new_password: NEW_PASSWORD };
      case 'POST /password/forgot':
        return { email: t.victim.email };
      case 'POST /password/reset':
        return { token: links.reset, new_password: NEW_PASSWORD };
      case 'POST /email/verify':
        return { token: links.verification };
      case 'DELETE /profile':
        return { password: PASSWORD };
      default:
        return { refresh_token: t.victim.tokens.refresh_token };
    }
  }

  /**
   * Users, the victim's sessions with their current refresh token ids, and the victim's password
   * hash and verified flag: what no refused request may change.
   */
  async function state() {
    const users = (await allUsers(t.stores.users)).map((user) => user.email);
    const sessions = (await t.stores.sessions.listByUser(t.victim.tokens.user.id)).map((s) => `${s.id}:${s.refreshJti}`);
    const victim = await t.stores.users.findById(t.victim.tokens.user.id);
    return { users, sessions, victim: victim && { hash: victim.passwordHash, verified: victim.emailVerified } };
  }

  function expectError(res: { status: number; body: unknown; headers: Record<string, unknown> }, status: number, error: string): void {
    expect({ status: res.status, type: res.headers['content-type'], error: (res.body as { error?: string } | undefined)?.error }).toEqual({
      status,
      type: 'application/json; charset=utf-8',
      error,
    });
  }

  describe('every malformed Authorization header', () => {
    const valid = () => t.victim.tokens.access_token;
    const forms: [string, () => string, number, string][] = [
      ['"Bearer" alone', () => 'Bearer', 400, 'invalid_request'],
      ['"Bearer" and a tab', () => `Bearer\t${valid()}`, 400, 'invalid_request'],
      ['two tokens', () => `Bearer ${valid()} ${valid()}`, 400, 'invalid_request'],
      ['two credentials in one header', () => `Bearer ${valid()}, Bearer ${valid()}`, 400, 'invalid_request'],
      ['a token in quotes', () => `Bearer "${valid()}"`, 400, 'invalid_request'],
      ['a token with a semicolon', () => `Bearer ${valid()};`, 400, 'invalid_request'],
      ['a token with "=" inside', () => `Bearer ${valid().replace('.', '=.')}`, 400, 'invalid_request'],
      ['a token of 8193 characters', () => `Bearer ${'a'.repeat(8193)}`, 400, 'invalid_request'],
      ['a token with a Latin-1 letter', () => `Bearer ${valid()}é`, 400, 'invalid_request'],
      ['"Bearer:" glued to the token', () => `Bearer:${valid()}`, 401, 'unauthorized'],
      ['"Bearer=" glued to the token', () => `Bearer=${valid()}`, 401, 'unauthorized'],
      ['no space after Bearer', () => `Bearer${valid()}`, 401, 'unauthorized'],
      ['the token without a scheme', () => valid(), 401, 'unauthorized'],
      ['Basic with the victim\'s email and password', () => `Basic ${Buffer.from(`${t.victim.email}:${PASSWORD}`).toString('base64')}`, 401, 'unauthorized'],
      ['Basic with the introspection client', () => basic, 401, 'unauthorized'],
      ['Digest', () => 'Digest username="x", response="y"', 401, 'unauthorized'],
      ['Token', () => `Token ${valid()}`, 401, 'unauthorized'],
      ['JWT', () => `JWT ${valid()}`, 401, 'unauthorized'],
      ['an empty value', () => '', 401, 'unauthorized'],
      ['a token of only dots', () => 'Bearer ...', 401, 'invalid_token'],
      ['a token of only "="', () => 'Bearer ==', 400, 'invalid_request'],
      ['a random word', () => 'Bearer hello', 401, 'invalid_token'],
    ];

    it.each(forms)('answers %s without letting anyone in', async (_what, value, status, error) => {
      for (const path of ['/profile', '/sessions', '/admin/users']) {
        const res = await request(t.http).get(path).set('Authorization', value());
        expectError(res, status, error);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="auth"/);
      }
    });

    it.each(forms)('answers %s at POST /password/change, POST /email/verify/resend and DELETE /profile without letting anyone in, changing nothing', async (_what, value, status, error) => {
      const before = await state();
      const attempts = [
        request(t.http).post('/password/change').set('Authorization', value()).send({ current_password: PASSWORD, new_password: NEW_PASSWORD }),
        request(t.http).post('/email/verify/resend').set('Authorization', value()),
        request(t.http).delete('/profile').set('Authorization', value()).send({ password: PASSWORD }),
      ];
      for (const res of await Promise.all(attempts)) {
        expectError(res, status, error);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="auth"/);
      }
      expect(await state()).toEqual(before);
    });

    const basicForms: [string, string][] = [
      ['Basic alone', 'Basic'],
      ['Basic with no colon', `Basic ${Buffer.from(CLIENT.id).toString('base64')}`],
      ['Basic with the wrong secret', `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}x`).toString('base64')}`],
      ['Basic with an empty secret', `Basic ${Buffer.from(`${CLIENT.id}:`).toString('base64')}`],
      ['Basic with an unknown client', `Basic ${Buffer.from(`nobody:${CLIENT.secret}`).toString('base64')}`],
      ['Basic that is not base64', 'Basic !!!not-base64!!!'],
      ['the client secret as a Bearer token', `Bearer ${CLIENT.secret}`],
      ['the victim\'s access token as Bearer', 'victim'],
    ];

    it.each(basicForms)('refuses POST /introspect with %s: 401 and a Basic challenge', async (_what, value) => {
      const header = value === 'victim' ? `Bearer ${t.victim.tokens.access_token}` : value;
      const res = await request(t.http).post('/introspect').set('Authorization', header).type('form').send({ token: t.victim.tokens.access_token });
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Basic realm="auth"');
      expect(res.body.active).toBeUndefined();
    });
  });

  describe('duplicate headers', () => {
    it('refuses two Authorization headers, even both with the valid token, on every protected route (the lifecycle routes too) and /introspect', async () => {
      const bearer = `Bearer ${t.victim.tokens.access_token}`;
      for (const [method, path] of [['GET', '/profile'], ['GET', '/sessions'], ['DELETE', '/sessions/x'], ['GET', '/admin/users'], ['POST', '/logout']]) {
        const res = await rawRequest(t.http, { method: method!, path: path!, headers: [['Authorization', bearer], ['Authorization', bearer]] });
        expectError(res, 400, 'invalid_request');
      }
      const before = await state();
      const lifecycle: [string, string, string | undefined][] = [
        ['POST', '/password/change', JSON.stringify({ current_password: PASSWORD, new_password: NEW_PASSWORD })],
        ['POST', '/email/verify/resend', undefined],
        ['DELETE', '/profile', JSON.stringify({ password: PASSWORD })],
      ];
      for (const [method, path, body] of lifecycle) {
        const headers: [string, string][] = [['Authorization', bearer], ['Authorization', bearer], ...(body ? [['Content-Type', 'application/json'] as [string, string]] : [])];
        expectError(await rawRequest(t.http, { method, path, headers, ...(body ? { body } : {}) }), 400, 'invalid_request');
      }
      expect(await state()).toEqual(before);
      const res = await rawRequest(t.http, { method: 'POST', path: '/introspect', headers: [['Authorization', basic], ['Authorization', basic]] });
      expectError(res, 400, 'invalid_request');
    });

    it('does not enter cookie mode on two X-Token-Mode headers, and uses no cookie', async () => {
      const login = await request(t.http).post('/login').set('X-Token-Mode', 'cookie').send({ email: t.victim.email, password: PASSWORD });
      const cookie = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
      const res = await rawRequest(t.http, { method: 'POST', path: '/refresh', headers: [['X-Token-Mode', 'cookie'], ['X-Token-Mode', 'cookie'], ['Cookie', cookie]] });
      expectError(res, 401, 'invalid_grant');
      await request(t.http).post('/logout').set('X-Token-Mode', 'cookie').set('Cookie', cookie).expect(204);
    });

    it('lets Node refuse request smuggling (Content-Length with Transfer-Encoding, two Content-Lengths) before the app, and keeps serving', async () => {
      const server = await listen(t.http);
      try {
        const smuggles = [
          'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
          'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}',
          'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
          'GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
          'GET /health HTTP/1.1\nHost: x\n\n',
        ];
        for (const bytes of smuggles) {
          const answer = await rawExchange(server.port, bytes);
          expect({ bytes, status: answer.text.split('\r\n')[0], closed: answer.closed }).toEqual({ bytes, status: 'HTTP/1.1 400 Bad Request', closed: true });
        }
        expect((await request(t.http).get('/health')).status).toBe(200);
      } finally {
        await server.close();
      }
    });
  });

  describe('tokens where they do not belong', () => {
    it.each([
      ['GET', '/profile'],
      ['GET', '/sessions'],
      ['DELETE', '/sessions/some-id'],
      ['GET', '/admin/users'],
      ['POST', '/logout'],
      ['POST', '/password/change'],
      ['POST', '/email/verify/resend'],
      ['DELETE', '/profile'],
    ])('refuses ?access_token= on %s %s, with or without an Authorization header', async (method, path) => {
      const token = t.victim.tokens.access_token;
      const send = (withHeader: boolean) => {
        const req = request(t.http)[method.toLowerCase() as 'get'](`${path}?access_token=${token}`);
        return withHeader ? req.set('Authorization', `Bearer ${token}`) : req;
      };
      for (const withHeader of [false, true]) expectError(await send(withHeader), 400, 'invalid_request');
    });

    it('never reads an access token from another header, a cookie, or the body', async () => {
      const token = t.victim.tokens.access_token;
      const attempts = [
        request(t.http).get('/profile').set('X-Access-Token', token),
        request(t.http).get('/profile').set('Cookie', `access_token=${token}`),
        request(t.http).get('/profile').set('Cookie', `Authorization=Bearer ${token}`),
        request(t.http).get('/profile').set('X-Authorization', `Bearer ${token}`),
        request(t.http).get('/profile').set('Proxy-Authorization', `Bearer ${token}`),
      ];
      for (const res of await Promise.all(attempts)) expectError(res, 401, 'unauthorized');
      expectError(await request(t.http).post('/logout').send({ access_token: token }), 400, 'invalid_request');
    });

    it('never reads a refresh token from the query string', async () => {
      const res = await request(t.http).post(`/refresh?refresh_token=${t.victim.tokens.refresh_token}`);
      expectError(res, 401, 'invalid_grant');
      expect(res.body.access_token).toBeUndefined();
      const out = await request(t.http).post(`/logout?refresh_token=${t.victim.tokens.refresh_token}`);
      expectError(out, 401, 'unauthorized');
      await expectVictimUntouched(t);
    });
  });

  describe('oversized bodies', () => {
    it.each(BODY_ROUTES)('answers %s with 10 kB + 1 byte by 413, changing nothing', async (route) => {
      const before = await state();
      const text = JSON.stringify({ ...validBody(route), pad: '' });
      const padded = text.replace('"pad":""', `"pad":"${'x'.repeat(10 * 1024 + 1 - text.length)}"`);
      expect(Buffer.byteLength(padded)).toBe(10 * 1024 + 1);
      expectError(await open(route).set('Content-Type', 'application/json').send(padded), 413, 'payload_too_large');
      expect(await state()).toEqual(before);
    });

    it.each([...BODY_ROUTES, 'POST /email/verify/resend', 'POST /introspect'])(
      'refuses %s declaring a 1 GB body at once, without reading it, and closes the connection (regression: read it all first)',
      async (route) => {
        const server = await listen(t.http);
        try {
          const [method, path] = route.split(' ') as [string, string];
          const type = path === '/introspect' ? 'application/x-www-form-urlencoded' : 'application/json';
          const auth = path === '/introspect' ? `Authorization: ${basic}\r\n` : BEARER_ROUTES.includes(route as BodyRoute) || path === '/email/verify/resend' ? `Authorization: Bearer ${t.victim.tokens.access_token}\r\n` : '';
          const answer = await rawExchange(server.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: ${type}\r\nContent-Length: 1000000000\r\n\r\n{"a":`, 3000);
          expect({ head: answer.text.split('\r\n')[0], closed: answer.closed, close: /\r\nConnection: close\r\n/i.test(answer.text) }).toEqual({
            head: 'HTTP/1.1 413 Payload Too Large',
            closed: true,
            close: true,
          });
          expect(answer.text).toContain('{"error":"payload_too_large"');
        } finally {
          await server.close();
        }
      },
    );

    it('answers a chunked body over the limit by 413 once it has been sent', async () => {
      const server = await listen(t.http);
      try {
        const chunk = 'a'.repeat(20_000);
        const answer = await rawExchange(
          server.port,
          `POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
        );
        expect(answer.text.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
      } finally {
        await server.close();
      }
    });

    it('answers POST /introspect with an 11 kB form body by 413', async () => {
      const res = await request(t.http).post('/introspect').set('Authorization', basic).type('form').send(`token=${'a'.repeat(11 * 1024)}`);
      expectError(res, 413, 'payload_too_large');
    });
  });

  describe('every wrong content type', () => {
    const types: [string, number, string][] = [
      ['text/plain', 415, 'unsupported_media_type'],
      ['text/html', 415, 'unsupported_media_type'],
      ['application/xml', 415, 'unsupported_media_type'],
      ['application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
      ['multipart/form-data; boundary=x', 415, 'unsupported_media_type'],
      ['application/octet-stream', 415, 'unsupported_media_type'],
      ['application/javascript', 415, 'unsupported_media_type'],
      ['application/vnd.api+json', 415, 'unsupported_media_type'],
      ['application/jsonx', 415, 'unsupported_media_type'],
      ['json', 415, 'unsupported_media_type'],
      ['*/*', 415, 'unsupported_media_type'],
      ['application/json; charset=latin1', 415, 'unsupported_media_type'],
      ['application/json; charset=utf-32', 415, 'unsupported_media_type'],
      ['application/json; charset=utf-16', 415, 'unsupported_media_type'],
      ['application/json; charset=utf-7', 415, 'unsupported_media_type'],
    ];

    it.each(BODY_ROUTES.flatMap((route) => types.map(([type, status, error]) => [route, type, status, error] as const)))(
      'answers %s with Content-Type %s by %s, changing nothing',
      async (route, type, status, error) => {
        const before = await state();
        const res = await open(route).set('Content-Type', type).send(JSON.stringify(validBody(route)));
        expectError(res, status, error);
        expect(await state()).toEqual(before);
      },
    );

    it.each(BODY_ROUTES.flatMap((route) => ['gzip', 'deflate', 'br', 'x-unknown'].map((encoding) => [route, encoding] as const)))(
      'answers %s with Content-Encoding %s by 415 (no zip bombs)',
      async (route, encoding) => {
        const res = await open(route).set('Content-Type', 'application/json').set('Content-Encoding', encoding).send(JSON.stringify(validBody(route)));
        expectError(res, 415, 'unsupported_media_type');
      },
    );

    it.each(BODY_ROUTES)('refuses %s with a body really encoded in UTF-16 (regression: body-parser decoded it)', async (route) => {
      const before = await state();
      const utf16 = Buffer.from(JSON.stringify(validBody(route)), 'utf16le');
      const res = await open(route).set('Content-Type', 'application/json; charset=utf-16le').send(utf16);
      expectError(res, 415, 'unsupported_media_type');
      expect(res.body.error_description).toBe('The body must be UTF-8 JSON.');
      expect(await state()).toEqual(before);
    });

    it.each(BODY_ROUTES)('answers %s with a JSON body and no Content-Type by 415, changing nothing', async (route) => {
      const before = await state();
      const { method, path } = parts(route);
      const headers: [string, string][] = BEARER_ROUTES.includes(route) ? [['Authorization', `Bearer ${t.victim.tokens.access_token}`]] : [];
      const res = await rawRequest(t.http, { method, path, headers, body: JSON.stringify(validBody(route)) });
      expectError(res, 415, 'unsupported_media_type');
      expect(await state()).toEqual(before);
    });

    it.each(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1'])(
      'answers POST /introspect with Content-Type %s by 415',
      async (type) => {
        const res = await request(t.http).post('/introspect').set('Authorization', basic).set('Content-Type', type).send(`token=${t.victim.tokens.access_token}`);
        expectError(res, 415, 'unsupported_media_type');
      },
    );
  });

  describe('prototype pollution', () => {
    /** What a fresh user's journey answers, with every value that differs per run replaced by its type. */
    async function journey() {
      const email = uniqueEmail('journey');
      const shape = (value: unknown): unknown =>
        Array.isArray(value)
          ? value.map(shape)
          : value && typeof value === 'object'
            ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key === 'email' ? 'email' : shape(inner)]))
            : typeof value;
      const registered = await request(t.http).post('/register').send({ email, password: PASSWORD });
      const loggedIn = await request(t.http).post('/login').send({ email, password: PASSWORD });
      const profile = await request(t.http).get('/profile').set('Authorization', `Bearer ${loggedIn.body.access_token}`);
      const admin = await request(t.http).get('/admin/users').set('Authorization', `Bearer ${loggedIn.body.access_token}`);
      return [registered, loggedIn, profile, admin].map((res) => ({
        status: res.status,
        headers: Object.keys(res.headers).sort(),
        body: shape(res.body),
        role: (res.body.user as { role?: string } | undefined)?.role,
      }));
    }

    let baseline: Awaited<ReturnType<typeof journey>>;
    const prototypeKeys = () => [Object.prototype, Array.prototype, Function.prototype].map((proto) => Object.getOwnPropertyNames(proto).sort());
    let keysBefore: string[][];

    beforeAll(async () => {
      keysBefore = prototypeKeys();
      baseline = await journey();
    });

    const pollutions = ['"__proto__":{"role":"admin","polluted":true}', '"constructor":{"prototype":{"role":"admin","polluted":true}}', '"prototype":{"role":"admin"}'];

    it.each(BODY_ROUTES.flatMap((route) => pollutions.map((json) => [route, json] as const)))('refuses %s with %s at the top level', async (route, json) => {
      const text = JSON.stringify(validBody(route)).replace(/}$/, `,${json}}`);
      expectError(await open(route).set('Content-Type', 'application/json').send(text), 400, 'invalid_request');
    });

    it.each(BODY_ROUTES)('refuses %s with __proto__ nested inside an allowed field', async (route) => {
      const field = Object.keys(validBody(route))[0]!;
      const text = JSON.stringify(validBody(route)).replace(new RegExp(`"${field}":"[^"]*"`), `"${field}":{"__proto__":{"role":"admin","polluted":true}}`);
      expect(text).toContain('__proto__');
      expectError(await open(route).set('Content-Type', 'application/json').send(text), 400, 'invalid_request');
    });

    it('ignores pollution in the query string, form bodies, cookies and header names', async () => {
      const token = t.victim.tokens.access_token;
      const profile = await request(t.http)
        .get('/profile?__proto__[role]=admin&constructor[prototype][polluted]=yes&__proto__.polluted=yes')
        .set('Authorization', `Bearer ${token}`)
        .set('Cookie', '__proto__=polluted; constructor=polluted')
        .set('__proto__', 'polluted');
      expect({ status: profile.status, role: profile.body.user.role }).toEqual({ status: 200, role: 'user' });
      const introspected = await request(t.http)
        .post('/introspect')
        .set('Authorization', basic)
        .type('form')
        .send(`token=${token}&__proto__[role]=admin&constructor[prototype][polluted]=yes`);
      expect(introspected.body).toMatchObject({ active: true, role: 'user' });
      const json = await request(t.http)
        .post('/introspect')
        .set('Authorization', basic)
        .set('Content-Type', 'application/json')
        .send(`{"token":"${token}","__proto__":{"role":"admin","active":false}}`);
      expect(json.body).toMatchObject({ active: true, role: 'user' });
    });

    it('leaves every prototype as it was, and the next normal journey answers exactly as before', async () => {
      expect(prototypeKeys()).toEqual(keysBefore);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).role).toBeUndefined();
      const after = await journey();
      expect(after).toEqual(baseline);
      expect(after.map((step) => step.status)).toEqual([201, 200, 200, 403]);
    });
  });

  describe('deep and huge JSON', () => {
    const deepArray = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const deepObject = `${'{"a":'.repeat(1600)}1${'}'.repeat(1600)}`;
    /**
     * A refresh token that is a lone surrogate is a string, so /refresh and /logout check it (401)
     * rather than refuse the shape (400); so is a one-time token (400 invalid_grant), and a password
     * asked again at DELETE /profile (401 invalid_credentials).
     */
    const stringOr401 = (route: BodyRoute) => (route === 'POST /refresh' || route === 'POST /logout' || route === 'DELETE /profile' ? 401 : 400);
    const bodies: [string, (route: BodyRoute) => string, number | ((route: BodyRoute) => number)][] = [
      ['5000 nested arrays', () => deepArray, 400],
      ['1600 nested objects', () => deepObject, 400],
      ['a field holding 4000 nested arrays', (route) => JSON.stringify(validBody(route)).replace(/:"[^"]*"/, `:${'['.repeat(4000)}${']'.repeat(4000)}`), 400],
      ['1000 unknown keys', () => `{${Array.from({ length: 1000 }, (_, i) => `"k${i}":0`).join(',')}}`, 400],
      ['a number with 9000 digits', () => `{"email":${'9'.repeat(9000)}}`, 400],
      ['1e999 (Infinity once parsed)', (route) => JSON.stringify(validBody(route)).replace(/:"[^"]*"/, ':1e999'), 400],
      ['a lone surrogate in every string', (route) => JSON.stringify(validBody(route)).replace(/:"[^"]*"/g, ':"\\ud800"'), stringOr401],
      ['1 MB of JSON', () => JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }), 413],
    ];

    it.each(BODY_ROUTES.flatMap((route) => bodies.map(([what, body, status]) => [route, what, body, status] as const)))(
      'answers %s with %s cleanly (no 5xx), changing nothing',
      async (route, _what, body, status) => {
        const before = await state();
        const res = await open(route).set('Content-Type', 'application/json').send(body(route));
        expect(res.status).toBe(typeof status === 'function' ? status(route) : status);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(await state()).toEqual(before);
      },
    );

    it('refuses a 9 kB password and a 9 kB email at /login without hashing them', async () => {
      const long = await request(t.http).post('/login').send({ email: t.victim.email, password: 'p'.repeat(9000) });
      expectError(long, 400, 'invalid_request');
      const email = await request(t.http).post('/login').send({ email: `${'e'.repeat(9000)}@example.com`, password: PASSWORD });
      expectError(email, 400, 'invalid_request');
    });

    it('refuses 9 kB passwords and tokens at the lifecycle routes before hashing or looking anything up', async () => {
      const before = await state();
      const long = 'p'.repeat(9000);
      const attempts = [
        open('POST /password/change').send({ current_password: long, new_password: NEW_PASSWORD }),
        open('POST /password/change').send({ current_password: PASSWORD, new_password: long }),
        open('DELETE /profile').send({ password: long }),
        request(t.http).post('/password/reset').send({ token: long, new_password: NEW_PASSWORD }),
        request(t.http).post('/password/reset').send({ token: links.reset, new_password: long }),
        request(t.http).post('/email/verify').send({ token: long }),
        request(t.http).post('/password/forgot').send({ email: `${'e'.repeat(9000)}@example.com` }),
      ];
      for (const res of await Promise.all(attempts)) expectError(res, 400, 'invalid_request');
      expect(await state()).toEqual(before);
    });

    it('refuses POST /email/verify/resend with any body but an empty one, and sends nothing', async () => {
      const before = await state();
      const resend = () => request(t.http).post('/email/verify/resend').set('Authorization', `Bearer ${t.victim.tokens.access_token}`);
      expectError(await resend().set('Content-Type', 'application/json').send(`{"pad":"${'x'.repeat(11 * 1024)}"}`), 413, 'payload_too_large');
      expectError(await resend().set('Content-Type', 'text/plain').send('{}'), 415, 'unsupported_media_type');
      for (const body of ['{"email":"someone.else@example.com"}', '{"__proto__":{"role":"admin"}}', '[]', '"x"', `${'['.repeat(5000)}${']'.repeat(5000)}`]) {
        expectError(await resend().set('Content-Type', 'application/json').send(body), 400, 'invalid_request');
      }
      expect((await resend()).status).toBe(202);
      expect(await state()).toEqual(before);
    });

    it('refuses a form body of more parameters than the limit at /introspect', async () => {
      const form = Array.from({ length: 40 }, (_, i) => `p${i}=${i}`).join('&');
      const res = await request(t.http).post('/introspect').set('Authorization', basic).type('form').send(`token=x&${form}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it('still serves the victim and registers a new user after all of it', async () => {
      await expectVictimUntouched(t);
      await register(t.http);
    });
  });

  describe("the victim's links after every attack", () => {
    it('were never used up by any of them: the verification link verifies and the reset link resets, once each', async () => {
      const verified = await request(t.http).post('/email/verify').send({ token: links.verification });
      expect({ status: verified.status, verified: verified.body.user?.email_verified }).toEqual({ status: 200, verified: true });
      expect((await request(t.http).post('/password/reset').send({ token: links.reset, new_password: NEW_PASSWORD })).status).toBe(204);
      await request(t.http).post('/login').send({ email: t.victim.email, password: NEW_PASSWORD }).expect(200);
    });
  });

  auditResponses(recorder, { atLeast: 250 });
}, { pglite: 'never' });

// Once, not per backend: the real process (src/server.ts) on its default memory stores, and the
// attack is on Node's HTTP parser, which answers before any store is reached.
describe('oversized headers against the real process', () => {
  let server: RunningChild;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = spawnTs('src/server.ts', { isolateConfig: true, env: { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' } });
    await acceptsConnectionsSoon(port);
  });

  afterAll(() => killStartedChildren());

  async function acceptsConnectionsSoon(at: number) {
    for (let i = 0; i < 150; i += 1) {
      if (await acceptsConnections(at, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the server never listened\n${server.stdout()}${server.stderr()}`);
  }

  const oversized: [string, () => string][] = [
    ['a 20 kB Authorization header', () => `GET /profile HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a 100 kB cookie', () => `POST /refresh HTTP/1.1\r\nHost: x\r\nX-Token-Mode: cookie\r\nCookie: __Host-refresh_token=${'a'.repeat(100_000)}\r\n\r\n`],
    ['2000 small headers', () => `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: value\r\n`).join('')}\r\n`],
    ['a 20 kB URL', () => `GET /health?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['1 MB of one header', () => `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(1_000_000)}\r\n\r\n`],
  ];

  it.each(oversized)('answers %s with 431 (or closes), and keeps serving', async (_what, bytes) => {
    const answer = await rawExchange(port, bytes());
    expect(answer.closed).toBe(true);
    if (answer.text !== '') expect(answer.text.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    const health = await requestJson(port, 'GET', '/health');
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('reads headers just under the limit as usual (a 15 kB token is a 400, not a crash)', async () => {
    const res = await requestJson(port, 'GET', '/profile', { headers: { Authorization: `Bearer ${'a'.repeat(15_000)}` } });
    expect({ status: res.status, error: (res.body as { error: string }).error }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('is still the same process, never restarted', async () => {
    expect(server.proc.exitCode).toBeNull();
    expect(server.stderr()).not.toMatch(/Error|\n\s+at /);
  });
});
