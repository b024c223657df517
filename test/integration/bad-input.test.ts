// Hostile and malformed request bodies on /register, /login, /refresh and /logout: clean 4xx, nothing leaked, nothing changed.
import request from 'supertest';
import { allUsers } from '../helpers/all-users';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { expectNoInternals, expectOnlyErrorFields } from '../helpers/no-leak';
import { rawRequest } from '../helpers/raw-http';

type Route = '/register' | '/login' | '/refresh' | '/logout';
const ROUTES: Route[] = ['/register', '/login', '/refresh', '/logout'];

let world: TestApp;
let account: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  world = buildTestApp();
  account = await registerAndLogin(world.app);
});

/** A body each route would accept: the starting point every hostile variant is built from. */
function validBody(route: Route): Record<string, unknown> {
  if (route === '/register') return { email: uniqueEmail('rejected'), password: PASSWORD };
  if (route === '/login') return { email: account.email, password: PASSWORD };
  return { refresh_token: account.tokens.refresh_token };
}

function postJson(route: Route, text: string, contentType = 'application/json') {
  return request(world.app).post(route).set('Content-Type', contentType).send(text);
}

/** Users, the account's sessions and each session's current refresh token id. */
async function snapshot() {
  const users = (await allUsers(world.stores.users)).map((user) => user.email);
  const sessions = (await world.stores.sessions.listByUser(account.user.id)).map((s) => [s.id, s.refreshJti]);
  return { users, sessions };
}

/** The contract's error, with no internals in the body and no state changed by the request. */
async function expectRejected(res: request.Response, status: number, code: string, before: unknown) {
  const body = expectError(res, status, code);
  expectOnlyErrorFields(body);
  expectNoInternals(res);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(await snapshot()).toEqual(before);
  return body;
}

describe('bodies that are not usable JSON', () => {
  it('starts from a session whose refresh token is the current one', async () => {
    const { sessions } = await snapshot();
    expect(sessions).toEqual([[decodeJwt(account.tokens.refresh_token).payload.sid, expect.any(String)]]);
    expect(sessions[0]![1]).toBe(decodeJwt(account.tokens.refresh_token).payload.jti);
  });

  it.each(ROUTES.flatMap((route) => ['{"email": ', "{'email': 'a@example.com'}", '{"a":1,}', 'nul'].map((text) => [route, text])))(
    'answers POST %s with malformed JSON %j by 400 invalid_request',
    async (route, text) => {
      const before = await snapshot();
      const body = await expectRejected(await postJson(route as Route, text), 400, 'invalid_request', before);
      expect(body.error_description).toBe('The body is not valid JSON.');
    },
  );

  it.each(ROUTES.flatMap((route) => ['text/plain', 'application/x-www-form-urlencoded'].map((type) => [route, type])))(
    'answers POST %s with a %s body by 415 unsupported_media_type',
    async (route, type) => {
      const before = await snapshot();
      const text = type === 'text/plain' ? JSON.stringify(validBody(route as Route)) : 'email=a%40example.com&password=x';
      await expectRejected(await postJson(route as Route, text, type), 415, 'unsupported_media_type', before);
    },
  );

  it.each(ROUTES)('answers POST %s with a body but no Content-Type by 415 unsupported_media_type', async (route) => {
    const before = await snapshot();
    const res = await rawRequest(world.app, { method: 'POST', path: route, body: JSON.stringify(validBody(route)) });
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ error: 'unsupported_media_type', error_description: expect.any(String) });
    expectNoInternals(res);
    expect(await snapshot()).toEqual(before);
  });

  it.each(ROUTES)('answers POST %s with a gzip-encoded body by 415 unsupported_media_type', async (route) => {
    const before = await snapshot();
    const res = await request(world.app)
      .post(route)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send(JSON.stringify(validBody(route)));
    await expectRejected(res, 415, 'unsupported_media_type', before);
  });

  it.each(ROUTES)('answers POST %s with a body over 10 kB by 413 payload_too_large', async (route) => {
    const before = await snapshot();
    const text = JSON.stringify({ ...validBody(route), padding: 'x'.repeat(10 * 1024) });
    await expectRejected(await postJson(route, text), 413, 'payload_too_large', before);
  });

  it.each(ROUTES.flatMap((route) => ['[]', '[{"email":"a@example.com"}]', '"text"', '42', 'null', 'true'].map((t) => [route, t])))(
    'answers POST %s with the non-object JSON %s by 400 invalid_request',
    async (route, text) => {
      const before = await snapshot();
      const body = await expectRejected(await postJson(route as Route, text), 400, 'invalid_request', before);
      expect(body.error_description).toBe('The body must be a JSON object.');
    },
  );
});

describe('objects with fields the contract does not allow', () => {
  it.each(ROUTES)('refuses an unknown field on POST %s and names it', async (route) => {
    const before = await snapshot();
    const res = await request(world.app).post(route).send({ ...validBody(route), role: 'admin' });
    const body = await expectRejected(res, 400, 'invalid_request', before);
    expect(body.details).toEqual([{ path: 'role', message: 'is not an allowed field' }]);
  });

  const hostileKeys = [
    ['__proto__', '"__proto__": {"polluted": "yes", "role": "admin"}'],
    ['constructor', '"constructor": {"prototype": {"polluted": "yes", "role": "admin"}}'],
    ['prototype', '"prototype": {"polluted": "yes", "role": "admin"}'],
  ];

  it.each(ROUTES.flatMap((route) => hostileKeys.map(([key, json]) => [route, key, json])))(
    'refuses a %s body with a %s key, names it, and pollutes no prototype',
    async (route, key, json) => {
      const before = await snapshot();
      const text = JSON.stringify(validBody(route as Route)).replace(/}$/, `, ${json}}`);
      const body = await expectRejected(await postJson(route as Route, text), 400, 'invalid_request', before);
      expect(body.details).toEqual([{ path: key, message: 'is not an allowed field' }]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).role).toBeUndefined();
    },
  );

  it('still registers and logs in exactly as before after the prototype attacks', async () => {
    const email = uniqueEmail('after');
    const registered = await request(world.app).post('/register').send({ email, password: PASSWORD });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      user: { id: expect.any(String), email, role: 'user', created_at: expect.any(String), email_verified: false, mfa_enabled: false },
    });
    const loggedIn = await request(world.app).post('/login').send({ email, password: PASSWORD });
    expect(loggedIn.status).toBe(200);
    expect(Object.keys(loggedIn.body).sort()).toEqual(
      ['access_token', 'expires_at', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type', 'user'],
    );
    expect(loggedIn.body.user).toEqual(registered.body.user);
    expect(decodeJwt(loggedIn.body.access_token).payload.role).toBe('user');
  });
});

describe('fields of the wrong type or empty', () => {
  const wrongEmails: [string, unknown][] = [
    ['a number', 42],
    ['an array', ['a@example.com']],
    ['an object', { address: 'a@example.com' }],
  ];

  it.each((['/register', '/login'] as const).flatMap((route) => wrongEmails.map(([what, email]) => [route, what, email])))(
    'refuses POST %s with an email that is %s',
    async (route, _what, email) => {
      const before = await snapshot();
      const res = await request(world.app).post(route as Route).send({ email, password: PASSWORD });
      const body = await expectRejected(res, 400, 'invalid_request', before);
      expect(body.details).toEqual([{ path: 'email', message: 'must be a string' }]);
    },
  );

  it.each(['/register', '/login'] as const)('refuses POST %s with a password that is a number', async (route) => {
    const before = await snapshot();
    const res = await request(world.app).post(route).send({ email: account.email, password: 12345678 });
    const body = await expectRejected(res, 400, 'invalid_request', before);
    expect(body.details).toEqual([{ path: 'password', message: 'must be a string' }]);
  });

  it.each(['/register', '/login'] as const)('refuses POST %s with an empty email and an empty password', async (route) => {
    const before = await snapshot();
    const res = await request(world.app).post(route).send({ email: '', password: '' });
    const body = await expectRejected(res, 400, 'invalid_request', before);
    expect(body.details!.map((problem) => problem.path).sort()).toEqual(['email', 'password']);
  });

  it.each(['/refresh', '/logout'] as const)('refuses POST %s with a refresh_token that is empty or not a string', async (route) => {
    for (const [value, message] of [['', 'must not be empty'], [42, 'must be a string'], [['x'], 'must be a string']]) {
      const before = await snapshot();
      const res = await request(world.app).post(route).send({ refresh_token: value });
      const body = await expectRejected(res, 400, 'invalid_request', before);
      expect(body.details).toEqual([{ path: 'refresh_token', message }]);
    }
  });

  it('refuses a logout scope outside local, others and global without ending anything', async () => {
    const before = await snapshot();
    const res = await request(world.app)
      .post('/logout')
      .send({ refresh_token: account.tokens.refresh_token, scope: 'everything' });
    const body = await expectRejected(res, 400, 'invalid_request', before);
    expect(body.details).toEqual([{ path: 'scope', message: 'must be local, others or global' }]);
  });
});

describe('URLs that do not decode', () => {
  it('answers DELETE /sessions/%E0%A4%A with a valid token by 400 invalid_request, not 500', async () => {
    const before = await snapshot();
    const res = await request(world.app).delete('/sessions/%E0%A4%A').set(...bearer(account.tokens.access_token));
    await expectRejected(res, 400, 'invalid_request', before);
    const profile = await request(world.app).get('/profile').set(...bearer(account.tokens.access_token));
    expect(profile.status).toBe(200);
  });

  it('answers a broken percent-encoding on an unknown path with the plain 404 not_found', async () => {
    const before = await snapshot();
    await expectRejected(await request(world.app).get('/%E0%A4%A'), 404, 'not_found', before);
  });
});
