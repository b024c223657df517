// Attacks on what the server says: every route and method, failing stores, traversal of the static pages, odd methods; each answer audited for leaks and headers.
import request from 'supertest';
import type { Stores } from '../../src/stores/types';
import { auditResponses, CLIENT, listen, rawExchange, ResponseRecorder, target, type Target } from '../helpers/attack';
import { FakeClock } from '../helpers/fake-clock';
import { PASSWORD } from '../helpers/fixtures';
import { describeEachBackend } from '../helpers/store-backends';
import { settled } from './mail-log';

// Every attack below runs on each storage backend: the answers read the backend's records, and the failures are injected in front of the backend's own stores. PGlite is left out: PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('responses', (backend) => {
  const recorder = new ResponseRecorder();
  let t: Target;
  /** When set, every store call throws an error full of internals (a path, a stack, an address, a secret-looking value). */
  let storesFail = false;
  /** When set, the calls to the records (users, sessions, one-time tokens, factors) throw so, while the counters and the revocation check answer. */
  let recordsFail = false;
  const INTERNAL_MESSAGE = 'connect ECONNREFUSED 10.0.0.7:6379 (redis-internal.corp) password=hunter2-internal';
  recorder.secret('the message of the store failure', INTERNAL_MESSAGE);
  recorder.secret('the password in the store failure', 'hunter2-internal');

  /** The backend's stores, every method of which (the revocation check's too) throws while `storesFail` is set. */
  function failingStores(stores: Stores): Stores {
    const trap = <T extends object>(store: T, record = false): T =>
      new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (storesFail || (record && recordsFail)) {
              const error = new Error(INTERNAL_MESSAGE);
              error.stack = `Error: ${INTERNAL_MESSAGE}\n    at RedisStore.get (/work/main/src/stores/redis/redis-sessions.ts:42:7)`;
              return Promise.reject(error);
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const trapped: Partial<Stores> = {
      users: trap(stores.users, true),
      sessions: trap(stores.sessions, true),
      oneTimeTokens: trap(stores.oneTimeTokens, true),
      mfa: trap(stores.mfa, true),
      rateLimits: trap(stores.rateLimits),
      ...(stores.revocations ? { revocations: trap(stores.revocations) } : {}),
      ping: trap({ ping: () => stores.ping() }).ping,
    };
    // A proxy, not a spread: Redis and SQL stores may be class instances whose close() and feeds live on the prototype.
    return new Proxy(stores, {
      get(target, property) {
        if (property in trapped) return trapped[property as keyof Stores];
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  beforeAll(async () => {
    const clock = new FakeClock();
    t = await target(recorder, { CORS_ORIGINS: 'https://app.example.com' }, { clock, stores: failingStores(await backend.open(clock)) });
  });

  afterEach(async () => {
    storesFail = false;
    await settled(t.http);
    recordsFail = false;
  });

  const ROUTES: [string, string][] = [
    ['/register', 'POST'],
    ['/login', 'POST'],
    ['/refresh', 'POST'],
    ['/logout', 'POST'],
    ['/profile', 'GET'],
    ['/sessions', 'GET'],
    ['/sessions/some-id', 'DELETE'],
    ['/admin/users', 'GET'],
    ['/password/change', 'POST'],
    ['/password/forgot', 'POST'],
    ['/password/reset', 'POST'],
    ['/email/verify', 'POST'],
    ['/email/verify/resend', 'POST'],
    ['/health', 'GET'],
    ['/ready', 'GET'],
    ['/introspect', 'POST'],
    ['/.well-known/jwks.json', 'GET'],
    ['/openapi.json', 'GET'],
    ['/docs', 'GET'],
    ['/', 'GET'],
  ];
  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

  describe('every route and method', () => {
    it.each(ROUTES)('answers every method on %s in the contract (200/204/4xx, never 5xx), with the headers audited below', async (path) => {
      for (const method of METHODS) {
        const res = await request(t.http)[method.toLowerCase() as 'get'](path).set('Origin', 'https://evil.example.com');
        expect({ method, path, status: res.status < 500 }).toEqual({ method, path, status: true });
        if (method === 'HEAD') expect(res.text ?? '').toBe('');
      }
    });

    it.each(ROUTES.filter(([, method]) => method !== 'GET'))('answers %s as JSON even when the client asks for HTML or XML', async (path, method) => {
      for (const accept of ['text/html', 'application/xml', '*/*', 'text/plain']) {
        const res = await request(t.http)[method.toLowerCase() as 'post'](path).set('Accept', accept).send({ x: 1 });
        expect({ accept, type: res.headers['content-type'] }).toEqual({ accept, type: 'application/json; charset=utf-8' });
      }
    });
  });

  describe('failing stores', () => {
    const calls: [string, () => request.Test][] = [
      ['POST /login', () => request(t.http).post('/login').send({ email: t.victim.email, password: PASSWORD })],
      ['POST /register', () => request(t.http).post('/register').send({ email: 'new.user@example.com', password: PASSWORD })],
      ['POST /refresh', () => request(t.http).post('/refresh').send({ refresh_token: t.victim.tokens.refresh_token })],
      ['POST /logout', () => request(t.http).post('/logout').send({ refresh_token: t.victim.tokens.refresh_token })],
      ['GET /profile', () => request(t.http).get('/profile').set('Authorization', `Bearer ${t.victim.tokens.access_token}`)],
      ['GET /sessions', () => request(t.http).get('/sessions').set('Authorization', `Bearer ${t.victim.tokens.access_token}`)],
      ['POST /introspect', () => request(t.http).post('/introspect').auth(CLIENT.id, CLIENT.secret).type('form').send({ token: t.victim.tokens.access_token })],
      [
        'POST /password/change',
        () => request(t.http).post('/password/change').set('Authorization', `Bearer ${t.victim.tokens.access_token}`).send({ current_password: PASSWORD, new_password: 'a new passphrase never set' }),
      ],
      ['POST /password/forgot', () => request(t.http).post('/password/forgot').send({ email: t.victim.email })],
      ['POST /password/reset', () => request(t.http).post('/password/reset').send({ token: 'q8Jx0bQe3c2mT9rZ1yK4vW7nL5pA6sD8fG0hJ2kL4mN', new_password: 'a new passphrase never set' })],
      ['POST /email/verify', () => request(t.http).post('/email/verify').send({ token: 'q8Jx0bQe3c2mT9rZ1yK4vW7nL5pA6sD8fG0hJ2kL4mN' })],
      ['POST /email/verify/resend', () => request(t.http).post('/email/verify/resend').set('Authorization', `Bearer ${t.victim.tokens.access_token}`)],
      ['DELETE /profile', () => request(t.http).delete('/profile').set('Authorization', `Bearer ${t.victim.tokens.access_token}`).send({ password: PASSWORD })],
    ];

    it.each(calls)('answers %s with a bare 500 server_error that says nothing of the failure', async (_what, call) => {
      storesFail = true;
      const res = await call();
      expect({ status: res.status, body: res.body }).toEqual({
        status: 500,
        body: { error: 'server_error', error_description: 'An unexpected error occurred.' },
      });
    });

    it.each(calls.filter(([what]) => what !== 'POST /password/forgot' && what !== 'POST /introspect'))(
      'answers %s with a bare 500 server_error when only the records fail (the counters answering)',
      async (_what, call) => {
        recordsFail = true;
        const res = await call();
        expect({ status: res.status, body: res.body }).toEqual({
          status: 500,
          body: { error: 'server_error', error_description: 'An unexpected error occurred.' },
        });
      },
    );

    it('answers POST /password/forgot 202 though the look-up behind the answer fails: the failure reaches the log, never the client', async () => {
      recordsFail = true;
      const from = t.logs.length;
      const res = await request(t.http).post('/password/forgot').send({ email: t.victim.email });
      expect({ status: res.status, body: res.body }).toEqual({ status: 202, body: { status: 'accepted' } });
      await settled(t.http);
      expect(t.logs.slice(from).filter((line) => line.includes('ECONNREFUSED 10.0.0.7:6379')).length).toBeGreaterThan(0);
    });

    it('answers GET /ready with 503 unavailable and no detail, while GET /health stays 200', async () => {
      storesFail = true;
      const ready = await request(t.http).get('/ready');
      expect({ status: ready.status, body: ready.body }).toEqual({ status: 503, body: { error: 'unavailable', error_description: 'A backing store is unreachable.' } });
      expect((await request(t.http).get('/health')).status).toBe(200);
    });

    it('writes the failure to the log, where an operator can read it', () => {
      expect(t.logs.some((line) => line.includes('ECONNREFUSED 10.0.0.7:6379'))).toBe(true);
    });
  });

  describe('paths that reach for files', () => {
    const paths = [
      '/.env',
      '/.env.example',
      '/package.json',
      '/.git/config',
      '/src/config.ts',
      '/dist/server.js',
      '/public/index.html',
      '/node_modules/express/package.json',
      '/docs/../package.json',
      '/docs/%2e%2e/%2e%2e/package.json',
      '/docs/..%2f..%2fpackage.json',
      '/docs/swagger-ui-bundle.js.map',
      '/docs/package.json',
      '/docs/absolute-path.js',
      '/docs/index.html',
      '/demo/../../package.json',
      '/demo/%2e%2e/%2e%2e/.env',
      '/demo/index.html',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%5c..%5cpackage.json',
      '/health/..%2f..%2f.env',
    ];

    it.each(paths)('answers GET %s with the JSON 404 and no file', async (path) => {
      const res = await request(t.http).get(path);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 404, error: 'not_found' });
      expect(res.text).not.toMatch(/"name":\s*"auth-server"|JWT_SECRET|\[core\]|root:x:0|sourceMappingURL|"dependencies"/);
    });
  });

  describe('methods Express never routes', () => {
    it.each([
      ['TRACE', 'TRACE /profile HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'HTTP/1.1 405 Method Not Allowed'],
      ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', ''],
      ['an unknown method', 'BREW /health HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
      ['HTTP/2 prior knowledge', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
      ['plain garbage', '\u0000\u0001\u0002 not http at all\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ])('answers %s cleanly (or closes), and keeps serving', async (_what, bytes, firstLine) => {
      const server = await listen(t.http);
      try {
        const answer = await rawExchange(server.port, bytes, 3000);
        expect(answer.closed).toBe(true);
        expect(answer.text.split('\r\n')[0] ?? '').toBe(firstLine);
        expect((await request(t.http).get('/health')).status).toBe(200);
      } finally {
        await server.close();
      }
    });
  });

  auditResponses(recorder, { corsOrigins: ['https://app.example.com'], atLeast: 150 });
}, { pglite: 'never' });
