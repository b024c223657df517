// The document cannot lie: real responses of every route, success and each error, match what /openapi.json says.
import request, { type Response } from 'supertest';
import type { AuthApp } from '../../src/app';
import { totpCode } from '../../src/auth/totp';
import { AppError } from '../../src/errors';
import { API_OPERATIONS } from '../../src/http/openapi/operations';
import type { Stores } from '../../src/stores/types';
import { createMemoryStores } from '../../src/stores/memory';
import { buildTestApp } from '../helpers/build-app';
import { eventually } from '../helpers/eventually';
import { FakeClock } from '../helpers/fake-clock';
import { adminAndLogin, bearer, decodeJwt, PASSWORD, register, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { createConformance, type Conformance } from '../helpers/openapi-conformance';

let conformance: Conformance;

beforeAll(async () => {
  const res = await request(buildTestApp().app).get('/openapi.json');
  conformance = createConformance(res.body);
  conformance.check(res);
});

/** Asserts the status, then that the response is a documented one of its route. */
async function conforms(pending: PromiseLike<Response>, status: number): Promise<Response> {
  const res = await pending;
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  conformance.check(res);
  return res;
}

function send(app: AuthApp, method: 'post' | 'patch' | 'delete', path: string) {
  return request(app)[method](path);
}

const CLIENT_ENV = { INTROSPECTION_CLIENTS: 'notes-service:conformance-Zp4mQ8vB2nX6cW1rT9yK3hL7jF5dS0gA' };

/** POST /introspect as the client of CLIENT_ENV. */
function introspect(app: AuthApp) {
  const credentials = Buffer.from(CLIENT_ENV.INTROSPECTION_CLIENTS).toString('base64');
  return request(app).post('/introspect').set('Authorization', `Basic ${credentials}`);
}

/** A password the register rules accept, other than PASSWORD. */
const NEW_PASSWORD = 'a different horse, battery and staple';

/**
 * The token of the newest link of this kind mailed to `email`. Without SMTP_URL outside production
 * every mail is an info line of the log with its `mail.link`; mail goes out after the answer, so wait for it.
 */
async function mailedToken(logs: string[], email: string, page: 'reset-password' | 'verify-email'): Promise<string> {
  const link = () =>
    logs
      .flatMap((chunk) => chunk.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as { mail?: { to?: string; link?: string } })
      .filter(({ mail }) => mail?.to === email && new URL(mail.link ?? 'none:').pathname === `/${page}`)
      .at(-1)?.mail!.link;
  await eventually(() => link() !== undefined);
  return new URL(link()!).searchParams.get('token')!;
}

/** The app, its stores and a user with tokens. */
async function withUser(env: Record<string, string> = {}) {
  const built = buildTestApp({ env });
  return { ...built, ...(await registerAndLogin(built.app)) };
}

const BODY_ROUTES = [
  ['post', '/register'],
  ['post', '/login'],
  ['post', '/refresh'],
  ['post', '/logout'],
  ['delete', '/sessions/some-session'],
  ['post', '/password/change'],
  ['post', '/password/forgot'],
  ['post', '/password/reset'],
  ['post', '/email/verify'],
  ['post', '/email/verify/resend'],
  ['delete', '/profile'],
  ['post', '/mfa/totp'],
  ['post', '/mfa/totp/confirm'],
  ['delete', '/mfa/totp'],
  ['post', '/login/mfa'],
  ['post', '/admin/users'],
  ['patch', '/admin/users/some-user'],
  ['delete', '/admin/users/some-user'],
  ['delete', '/admin/users/some-user/sessions'],
  ['delete', '/admin/users/some-user/mfa'],
] as const;

describe.each(BODY_ROUTES)('%s %s with a bad body', (method, path) => {
  it('answers 413 to a body over 10 kB', async () => {
    const { app } = buildTestApp();
    await conforms(send(app, method, path).send({ email: 'a@example.com', password: 'x'.repeat(11_000) }), 413);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const { app } = buildTestApp();
    await conforms(send(app, method, path).set('Content-Type', 'text/plain').send('email=a@example.com'), 415);
  });

  it('answers 400 to malformed JSON', async () => {
    const { app } = buildTestApp();
    await conforms(send(app, method, path).set('Content-Type', 'application/json').send('{"email":'), 400);
  });
});

describe('POST /register', () => {
  it('documents 201, 400 with details, 409', async () => {
    const { app } = buildTestApp();
    const email = uniqueEmail();
    const created = await conforms(request(app).post('/register').send({ email, password: PASSWORD }), 201);
    expect(created.body.user.email).toBe(email);
    const invalid = await conforms(request(app).post('/register').send({ email: 'nope', password: 'short', admin: true }), 400);
    expect(invalid.body.details.length).toBeGreaterThanOrEqual(3);
    await conforms(request(app).post('/register').send({ email, password: PASSWORD }), 409);
  });

  it('documents 404 when registration is closed', async () => {
    const { app } = buildTestApp({ env: { ALLOW_REGISTRATION: 'false' } });
    await conforms(request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD }), 404);
  });

  it('documents 429 past the per-address limit', async () => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '1' } });
    await conforms(request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD }), 201);
    await conforms(request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD }), 429);
  });
});

describe('POST /login', () => {
  it('documents 200 (with and without cookie mode), 400 and 401', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const plain = await conforms(request(app).post('/login').send({ email, password: PASSWORD }), 200);
    expect(typeof plain.body.refresh_token).toBe('string');
    const cookie = await conforms(
      request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD }),
      200,
    );
    expect(cookie.body.refresh_token).toBeUndefined();
    expect(cookie.headers['set-cookie']).toHaveLength(1);
    await conforms(request(app).post('/login').send({ email }), 400);
    await conforms(request(app).post('/login').send({ email, password: 'wrong password' }), 401);
  });

  it('documents 429 once failed logins exhaust LOGIN_RATE_LIMIT_MAX', async () => {
    const { app } = buildTestApp({ env: { LOGIN_RATE_LIMIT_MAX: '1' } });
    const { email } = await register(app);
    await conforms(request(app).post('/login').send({ email, password: 'wrong password' }), 401);
    const limited = await conforms(request(app).post('/login').send({ email, password: 'wrong password' }), 429);
    expect(limited.headers['retry-after']).toBe('900');
  });
});

describe('POST /refresh', () => {
  it('documents 200 (body and cookie mode), 400 and 401', async () => {
    const { app, email, tokens } = await withUser();
    const rotated = await conforms(request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 200);
    const cookieLogin = await request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD });
    const cookie = (cookieLogin.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    await conforms(request(app).post('/refresh').set('X-Token-Mode', 'cookie').set('Cookie', cookie), 200);
    await conforms(request(app).post('/refresh').send({ refresh_token: 42 }), 400);
    await conforms(request(app).post('/refresh').send({}), 401);
    expect(rotated.body.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('documents 429 past the per-session limit', async () => {
    const { app, tokens } = await withUser({ REFRESH_RATE_LIMIT_MAX: '1' });
    const next = await conforms(request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 200);
    await conforms(request(app).post('/refresh').send({ refresh_token: next.body.refresh_token }), 429);
  });
});

describe('POST /logout', () => {
  it('documents 204 (refresh token, Bearer, cookie mode), 400 and each 401', async () => {
    const { app, email, tokens } = await withUser();
    await conforms(request(app).post('/logout').send({ scope: 'everywhere' }), 400);
    await conforms(request(app).post('/logout'), 401);
    await conforms(request(app).post('/logout').set('Authorization', 'Bearer not.a.token'), 401);
    await conforms(request(app).post('/logout').send({ refresh_token: 'not-a-refresh-token' }), 401);
    await conforms(request(app).post('/logout').send({ refresh_token: tokens.refresh_token }), 204);

    const again = await request(app).post('/login').send({ email, password: PASSWORD });
    await conforms(request(app).post('/logout').set(...bearer(again.body.access_token)), 204);

    const cookieLogin = await request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email, password: PASSWORD });
    const cookie = (cookieLogin.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const cleared = await conforms(request(app).post('/logout').set('X-Token-Mode', 'cookie').set('Cookie', cookie), 204);
    expect((cleared.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^__Host-refresh_token=; Max-Age=0;/);
  });
});

const PROTECTED = [
  ['get', '/profile'],
  ['get', '/sessions'],
  ['delete', '/sessions/some-session'],
  ['get', '/admin/users'],
  ['post', '/password/change'],
  ['post', '/email/verify/resend'],
  ['delete', '/profile'],
  ['post', '/mfa/totp'],
  ['post', '/mfa/totp/confirm'],
  ['delete', '/mfa/totp'],
  ['post', '/admin/users'],
  ['get', '/admin/users/some-user'],
  ['patch', '/admin/users/some-user'],
  ['delete', '/admin/users/some-user'],
  ['delete', '/admin/users/some-user/sessions'],
  ['delete', '/admin/users/some-user/mfa'],
  ['get', '/admin/audit'],
] as const;

function call(app: AuthApp, method: 'get' | 'post' | 'patch' | 'delete', path: string) {
  return method === 'get' ? request(app).get(path) : send(app, method, path);
}

describe.each(PROTECTED)('%s %s without a usable access token', (method, path) => {
  it('documents 400 for a malformed Authorization header, with its challenge', async () => {
    const { app } = buildTestApp();
    const res = await conforms(call(app, method, path).set('Authorization', 'Bearer'), 400);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
  });

  it('documents 401 for no credentials and for an expired token', async () => {
    const { app, clock, tokens } = await withUser();
    await conforms(call(app, method, path), 401);
    clock.advanceSeconds(15 * 60);
    const expired = await conforms(call(app, method, path).set(...bearer(tokens.access_token)), 401);
    expect(expired.body.error_description).toBe('token expired');
  });
});

describe('the account routes', () => {
  it('documents GET /profile 200 and GET /sessions 200', async () => {
    const { app, tokens } = await withUser();
    await conforms(request(app).get('/profile').set(...bearer(tokens.access_token)), 200);
    const list = await conforms(request(app).get('/sessions').set(...bearer(tokens.access_token)), 200);
    expect(list.body.sessions).toHaveLength(1);
  });

  it('documents DELETE /sessions/{id} 204 and 404', async () => {
    const { app, email, tokens } = await withUser();
    const other = await request(app).post('/login').send({ email, password: PASSWORD });
    const { sessions } = (await request(app).get('/sessions').set(...bearer(tokens.access_token))).body;
    const otherId = sessions.find((session: { current: boolean }) => !session.current).id as string;
    await conforms(request(app).delete(`/sessions/${otherId}`).set(...bearer(tokens.access_token)), 204);
    await conforms(request(app).delete(`/sessions/${otherId}`).set(...bearer(tokens.access_token)), 404);
    expect(other.status).toBe(200);
  });
});

describe('the admin routes', () => {
  /** An app with a user (with tokens) and an admin (with tokens). */
  async function withAdmin(env: Record<string, string> = {}) {
    const user = await withUser(env);
    const admin = await adminAndLogin(user.app);
    const as = (token: string) => ({
      get: (path: string) => request(user.app).get(path).set(...bearer(token)),
      post: (path: string, body: object) => request(user.app).post(path).set(...bearer(token)).send(body),
      patch: (path: string, body: object) => request(user.app).patch(path).set(...bearer(token)).send(body),
      delete: (path: string) => request(user.app).delete(path).set(...bearer(token)),
    });
    return { ...user, admin, asAdmin: as(admin.tokens.access_token), asUser: as(user.tokens.access_token) };
  }

  it('documents GET /admin/users 200 (a page, the next one, a filter), and 400 for a bad limit, cursor or parameter', async () => {
    const { asAdmin, email } = await withAdmin();
    const first = await conforms(asAdmin.get('/admin/users?limit=1'), 200);
    expect(first.body.users).toHaveLength(1);
    const next = await conforms(asAdmin.get(`/admin/users?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`), 200);
    expect(next.body.users[0].id).not.toBe(first.body.users[0].id);
    const found = await conforms(asAdmin.get(`/admin/users?email=${encodeURIComponent(email.toUpperCase())}`), 200);
    expect(found.body).toEqual({ users: [expect.objectContaining({ email, disabled: false })], next_cursor: null });
    for (const query of ['limit=0', 'limit=201', 'limit=ten', 'cursor=not-a-cursor', 'limit=1&limit=2', 'role=admin']) {
      const refused = await conforms(asAdmin.get(`/admin/users?${query}`), 400);
      expect({ query, error: refused.body.error }).toEqual({ query, error: 'invalid_request' });
    }
  });

  it('documents POST /admin/users 201 (with a password, and without: an invitation), 400 and 409', async () => {
    const { asAdmin, email } = await withAdmin();
    const created = await conforms(asAdmin.post('/admin/users', { email: uniqueEmail(), password: PASSWORD, role: 'admin' }), 201);
    expect(created.body.user).toMatchObject({ role: 'admin', disabled: false, last_login_at: null });
    await conforms(asAdmin.post('/admin/users', { email: uniqueEmail() }), 201);
    await conforms(asAdmin.post('/admin/users', { email: 'nope', password: 'short' }), 400);
    const taken = await conforms(asAdmin.post('/admin/users', { email, password: PASSWORD }), 409);
    expect(taken.body.error).toBe('email_taken');
  });

  it('documents POST /admin/users 501 without a password where mail is off (production without SMTP_URL)', async () => {
    const { asAdmin } = await withAdmin({ NODE_ENV: 'production' });
    const off = await conforms(asAdmin.post('/admin/users', { email: uniqueEmail() }), 501);
    expect(off.body.error).toBe('not_configured');
    await conforms(asAdmin.post('/admin/users', { email: uniqueEmail(), password: PASSWORD }), 201);
  });

  it('documents GET /admin/users/{id} 200 and 404', async () => {
    const { asAdmin, user } = await withAdmin();
    const shown = await conforms(asAdmin.get(`/admin/users/${user.id}`), 200);
    expect(shown.body.sessions).toHaveLength(1);
    await conforms(asAdmin.get('/admin/users/no-such-user'), 404);
  });

  it('documents PATCH /admin/users/{id} 200, 400, 404, and 409 for the last admin', async () => {
    const { app, asAdmin, admin, user, email } = await withAdmin();
    const disabled = await conforms(asAdmin.patch(`/admin/users/${user.id}`, { disabled: true }), 200);
    expect(disabled.body.user.disabled).toBe(true);
    await conforms(request(app).post('/login').send({ email, password: PASSWORD }), 403);
    await conforms(asAdmin.patch(`/admin/users/${user.id}`, { role: 'root' }), 400);
    await conforms(asAdmin.patch('/admin/users/no-such-user', { disabled: true }), 404);
    const last = await conforms(asAdmin.patch(`/admin/users/${admin.tokens.user.id}`, { role: 'user' }), 409);
    expect(last.body.error).toBe('last_admin');
  });

  it('documents DELETE /admin/users/{id} 204, 404, and 409 for the last admin', async () => {
    const { asAdmin, admin, user } = await withAdmin();
    await conforms(asAdmin.delete(`/admin/users/${user.id}`), 204);
    await conforms(asAdmin.delete(`/admin/users/${user.id}`), 404);
    const last = await conforms(asAdmin.delete(`/admin/users/${admin.tokens.user.id}`), 409);
    expect(last.body.error).toBe('last_admin');
  });

  it('documents DELETE /admin/users/{id}/sessions and /mfa 204 and 404', async () => {
    const { asAdmin, asUser, user } = await withAdmin();
    await conforms(asAdmin.delete(`/admin/users/${user.id}/mfa`), 204);
    await conforms(asAdmin.delete(`/admin/users/${user.id}/sessions`), 204);
    await conforms(asUser.get('/profile'), 401);
    await conforms(asAdmin.delete('/admin/users/no-such-user/sessions'), 404);
    await conforms(asAdmin.delete('/admin/users/no-such-user/mfa'), 404);
  });

  it('documents GET /admin/audit 200 (a page, the next one, each filter), and 400 for a bad limit, cursor, filter or parameter', async () => {
    const { app, asAdmin, user } = await withAdmin();
    await request(app).post('/login').send({ email: uniqueEmail(), password: PASSWORD }).expect(401);
    await app.services.background.idle();
    const first = await conforms(asAdmin.get('/admin/audit?limit=1'), 200);
    expect(first.body.events).toHaveLength(1);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const next = await conforms(asAdmin.get(`/admin/audit?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`), 200);
    expect(next.body.events[0].id < first.body.events[0].id).toBe(true);
    const mine = await conforms(asAdmin.get(`/admin/audit?user_id=${encodeURIComponent(user.id)}`), 200);
    expect(mine.body.events.map((event: { type: string }) => event.type).sort()).toEqual(['login.succeeded', 'user.registered']);
    const failed = await conforms(asAdmin.get('/admin/audit?type=login.failed'), 200);
    expect(failed.body.events).toEqual([expect.objectContaining({ type: 'login.failed', user_id: null })]);
    const since = new Date(Date.parse(first.body.events[0].at) + 1000).toISOString();
    const later = await conforms(asAdmin.get(`/admin/audit?since=${since}&until=2999-01-01T00:00:00Z`), 200);
    expect(later.body).toEqual({ events: [], next_cursor: null });
    for (const query of [
      'limit=0',
      'limit=201',
      'cursor=not-a-cursor',
      'type=login.maybe',
      'since=yesterday',
      'until=2026-13-45T00:00:00Z',
      'user_id=a&user_id=b',
      'actor_id=x',
    ]) {
      const refused = await conforms(asAdmin.get(`/admin/audit?${query}`), 400);
      expect({ query, error: refused.body.error }).toEqual({ query, error: 'invalid_request' });
    }
    const badCursor = await conforms(asAdmin.get('/admin/audit?cursor=not-a-cursor'), 400);
    expect(badCursor.body.error_description).toBe('The cursor is not valid.');
  });

  it('documents 403 insufficient_scope on each of them for a user', async () => {
    const { asUser, user } = await withAdmin();
    const answers = [
      await conforms(asUser.get('/admin/users'), 403),
      await conforms(asUser.post('/admin/users', { email: uniqueEmail(), password: PASSWORD }), 403),
      await conforms(asUser.get(`/admin/users/${user.id}`), 403),
      await conforms(asUser.patch(`/admin/users/${user.id}`, { role: 'admin' }), 403),
      await conforms(asUser.delete(`/admin/users/${user.id}`), 403),
      await conforms(asUser.delete(`/admin/users/${user.id}/sessions`), 403),
      await conforms(asUser.delete(`/admin/users/${user.id}/mfa`), 403),
      await conforms(asUser.get('/admin/audit'), 403),
    ];
    for (const forbidden of answers) {
      expect(forbidden.body.error).toBe('insufficient_scope');
      expect(forbidden.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    }
  });
});

describe('the password and email routes', () => {
  const change = (app: AuthApp, token: string, body: object) => request(app).post('/password/change').set(...bearer(token)).send(body);

  it('documents POST /password/change 200 (with and without cookie mode), 400 and 401', async () => {
    const { app, tokens } = await withUser();
    await conforms(change(app, tokens.access_token, { current_password: PASSWORD, new_password: 'short' }), 400);
    await conforms(change(app, tokens.access_token, { current_password: 'wrong password', new_password: NEW_PASSWORD }), 401);
    const changed = await conforms(change(app, tokens.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }), 200);
    expect(typeof changed.body.refresh_token).toBe('string');
    const cookie = await conforms(
      change(app, changed.body.access_token, { current_password: NEW_PASSWORD, new_password: PASSWORD }).set('X-Token-Mode', 'cookie'),
      200,
    );
    expect(cookie.body.refresh_token).toBeUndefined();
    expect(cookie.headers['set-cookie']).toHaveLength(1);
  });

  it('documents POST /password/change 429 once failed logins exhaust LOGIN_RATE_LIMIT_MAX', async () => {
    const { app, tokens } = await withUser({ LOGIN_RATE_LIMIT_MAX: '1' });
    const wrong = { current_password: 'wrong password', new_password: NEW_PASSWORD };
    await conforms(change(app, tokens.access_token, wrong), 401);
    await conforms(change(app, tokens.access_token, wrong), 429);
  });

  it('documents POST /password/forgot 202 (a registered address or not), 400 and 429', async () => {
    const { app, email } = await withUser();
    const known = await conforms(request(app).post('/password/forgot').send({ email }), 202);
    const unknown = await conforms(request(app).post('/password/forgot').send({ email: uniqueEmail() }), 202);
    expect(unknown.body).toEqual(known.body);
    await conforms(request(app).post('/password/forgot').send({ email: 'nope' }), 400);
    const limited = buildTestApp({ env: { RATE_LIMIT_MAX: '1' } }).app;
    await conforms(request(limited).post('/password/forgot').send({ email }), 202);
    await conforms(request(limited).post('/password/forgot').send({ email }), 429);
  });

  it('documents POST /password/reset 204, and 400 for a bad body and for a used token', async () => {
    const { app, logs, email } = await withUser();
    await request(app).post('/password/forgot').send({ email });
    const token = await mailedToken(logs, email, 'reset-password');
    await conforms(request(app).post('/password/reset').send({ token, new_password: 'short' }), 400);
    await conforms(request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD }), 204);
    const used = await conforms(request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD }), 400);
    expect(used.body.error).toBe('invalid_grant');
    await request(app).post('/login').send({ email, password: NEW_PASSWORD }).expect(200);
  });

  it('documents POST /email/verify 200, and 400 for a bad body and for a reset token', async () => {
    const { app, logs, email } = await withUser();
    const token = await mailedToken(logs, email, 'verify-email');
    await conforms(request(app).post('/email/verify').send({ token: '' }), 400);
    await request(app).post('/password/forgot').send({ email });
    const resetToken = await mailedToken(logs, email, 'reset-password');
    const wrongKind = await conforms(request(app).post('/email/verify').send({ token: resetToken }), 400);
    expect(wrongKind.body.error).toBe('invalid_grant');
    const verified = await conforms(request(app).post('/email/verify').send({ token }), 200);
    expect(verified.body.user).toMatchObject({ email, email_verified: true });
  });

  it.each(['/password/reset', '/email/verify'])('documents POST %s 429 past the per-address limit', async (path) => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '1' } });
    const body = { token: 'a'.repeat(43), new_password: NEW_PASSWORD };
    const first = await request(app).post(path).send(path === '/email/verify' ? { token: body.token } : body);
    expect(first.status).toBe(400);
    await conforms(request(app).post(path).send(path === '/email/verify' ? { token: body.token } : body), 429);
  });

  it('documents POST /email/verify/resend 202, and 400 for a body with a field', async () => {
    const { app, tokens } = await withUser();
    const accepted = await conforms(request(app).post('/email/verify/resend').set(...bearer(tokens.access_token)), 202);
    expect(accepted.body).toEqual({ status: 'accepted' });
    await conforms(request(app).post('/email/verify/resend').set(...bearer(tokens.access_token)).send({ email: 'a@example.com' }), 400);
  });

  it('documents DELETE /profile 204, 400 and 401', async () => {
    const { app, email, tokens } = await withUser();
    await conforms(request(app).delete('/profile').set(...bearer(tokens.access_token)).send({}), 400);
    await conforms(request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: 'wrong password' }), 401);
    await conforms(request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: PASSWORD }), 204);
    await conforms(request(app).get('/profile').set(...bearer(tokens.access_token)), 401);
    await conforms(request(app).post('/register').send({ email, password: PASSWORD }), 201);
  });

  it('documents DELETE /profile 429 once failed logins exhaust LOGIN_RATE_LIMIT_MAX', async () => {
    const { app, tokens } = await withUser({ LOGIN_RATE_LIMIT_MAX: '1' });
    await conforms(request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: 'wrong password' }), 401);
    await conforms(request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: 'wrong password' }), 429);
  });

  it('documents 501 on the mail routes in production without SMTP_URL', async () => {
    const { app, tokens } = await withUser({ NODE_ENV: 'production' });
    const token = 'a'.repeat(43);
    await conforms(request(app).post('/password/forgot').send({ email: uniqueEmail() }), 501);
    await conforms(request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD }), 501);
    await conforms(request(app).post('/email/verify').send({ token }), 501);
    const off = await conforms(request(app).post('/email/verify/resend').set(...bearer(tokens.access_token)), 501);
    expect(off.body.error).toBe('not_configured');
  });

  it('documents POST /login 403 for a disabled account', async () => {
    const { app, email, user } = await withUser();
    const admin = await adminAndLogin(app);
    await request(app).patch(`/admin/users/${user.id}`).set(...bearer(admin.tokens.access_token)).send({ disabled: true }).expect(200);
    const refused = await conforms(request(app).post('/login').send({ email, password: PASSWORD }), 403);
    expect(refused.body.error).toBe('account_disabled');
  });

  it('documents POST /login 403 for an unverified address with REQUIRE_EMAIL_VERIFICATION=true', async () => {
    const { app } = buildTestApp({ env: { REQUIRE_EMAIL_VERIFICATION: 'true' } });
    const { email } = await register(app);
    const refused = await conforms(request(app).post('/login').send({ email, password: PASSWORD }), 403);
    expect(refused.body.error).toBe('email_not_verified');
  });
});

/** A signed mfa_token naming the user of `accessToken`, as POST /login hands out (its attempt unknown to the stores). */
function mfaTokenFor(app: AuthApp, accessToken: string): string {
  const userId = decodeJwt(accessToken).payload.sub as string;
  return app.services.tokens.signMfaToken({ userId, tokenId: 'conformance-attempt', ttlSec: 300 });
}

/** A key for MFA_ENCRYPTION_KEY (32 bytes, base64). */
const MFA_KEY = 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=';

/** A user of `app` with TOTP on: the secret, a recovery code, and an access token. */
async function withTotp(env: Record<string, string> = {}) {
  const user = await withUser({ MFA_ENCRYPTION_KEY: MFA_KEY, ...env });
  const { app, clock, tokens } = user;
  const { secret } = (await request(app).post('/mfa/totp').set(...bearer(tokens.access_token))).body as { secret: string };
  const confirmed = await request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(secret, clock.now()) });
  expect(confirmed.status).toBe(200);
  /** The code an authenticator shows a step later (the confirming step is used up). */
  const nextCode = () => {
    clock.advanceSeconds(30);
    return totpCode(secret, clock.now());
  };
  return { ...user, secret, recoveryCodes: confirmed.body.recovery_codes as string[], nextCode };
}

/** A code that is not the current one of `secret`. */
function wrongCode(secret: string, atMs: number): string {
  return totpCode(secret, atMs) === '000000' ? '111111' : '000000';
}

describe('the second-factor routes', () => {
  it('documents POST /mfa/totp 200, 400 for a body with a field, and 409 once TOTP is on', async () => {
    const { app, tokens } = await withUser({ MFA_ENCRYPTION_KEY: MFA_KEY });
    const started = await conforms(request(app).post('/mfa/totp').set(...bearer(tokens.access_token)), 200);
    expect(started.body.otpauth_uri).toContain(`secret=${started.body.secret}`);
    await conforms(request(app).post('/mfa/totp').set(...bearer(tokens.access_token)).send({ secret: 'AAAA' }), 400);
    const on = await withTotp();
    const again = await conforms(request(on.app).post('/mfa/totp').set(...bearer(on.tokens.access_token)), 409);
    expect(again.body.error).toBe('mfa_already_enabled');
  });

  it('documents POST /mfa/totp/confirm 200, 400 (bad body, nothing pending), 401 for a wrong code and 409', async () => {
    const { app, clock, tokens } = await withUser({ MFA_ENCRYPTION_KEY: MFA_KEY });
    const confirm = (body: object) => request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send(body);
    const nothingPending = await conforms(confirm({ code: '123456' }), 400);
    expect(nothingPending.body.error).toBe('invalid_request');
    const { secret } = (await request(app).post('/mfa/totp').set(...bearer(tokens.access_token))).body as { secret: string };
    await conforms(confirm({ code: 123456 }), 400);
    const wrong = await conforms(confirm({ code: wrongCode(secret, clock.now()) }), 401);
    expect(wrong.body.error).toBe('invalid_mfa_code');
    const confirmed = await conforms(confirm({ code: totpCode(secret, clock.now()) }), 200);
    expect(confirmed.body.recovery_codes).toHaveLength(10);
    await conforms(confirm({ code: totpCode(secret, clock.now()) }), 409);
  });

  it('documents DELETE /mfa/totp 204, 400, 401 for a wrong code and 404 once TOTP is off', async () => {
    const { app, clock, tokens, secret, nextCode } = await withTotp();
    const remove = (body: object) => request(app).delete('/mfa/totp').set(...bearer(tokens.access_token)).send(body);
    await conforms(remove({}), 400);
    const wrong = await conforms(remove({ code: wrongCode(secret, clock.now()) }), 401);
    expect(wrong.body.error).toBe('invalid_mfa_code');
    await conforms(remove({ code: nextCode() }), 204);
    const off = await conforms(remove({ code: nextCode() }), 404);
    expect(off.body.error).toBe('not_found');
  });

  it('documents DELETE /mfa/totp 429 once failed logins exhaust LOGIN_RATE_LIMIT_MAX', async () => {
    const { app, clock, tokens, secret } = await withTotp({ LOGIN_RATE_LIMIT_MAX: '1' });
    const wrong = { code: wrongCode(secret, clock.now()) };
    await conforms(request(app).delete('/mfa/totp').set(...bearer(tokens.access_token)).send(wrong), 401);
    await conforms(request(app).delete('/mfa/totp').set(...bearer(tokens.access_token)).send(wrong), 429);
  });

  it('documents POST /login 403 mfa_required, then POST /login/mfa 200 (with and without cookie mode), 400 and each 401', async () => {
    const { app, email, clock, secret, recoveryCodes, nextCode } = await withTotp();
    const signIn = async () => {
      const res = await conforms(request(app).post('/login').send({ email, password: PASSWORD }), 403);
      expect(res.body).toEqual({ error: 'mfa_required', error_description: expect.any(String), mfa_token: expect.any(String), expires_in: 300 });
      return res.body.mfa_token as string;
    };
    const plain = await conforms(request(app).post('/login/mfa').send({ mfa_token: await signIn(), code: nextCode() }), 200);
    expect(typeof plain.body.refresh_token).toBe('string');
    expect(decodeJwt(plain.body.access_token).payload.amr).toEqual(['pwd', 'otp']);
    const cookie = await conforms(
      request(app).post('/login/mfa').set('X-Token-Mode', 'cookie').send({ mfa_token: await signIn(), code: recoveryCodes[0] }),
      200,
    );
    expect(cookie.body.refresh_token).toBeUndefined();
    expect(cookie.headers['set-cookie']).toHaveLength(1);

    const token = await signIn();
    await conforms(request(app).post('/login/mfa').send({ mfa_token: token }), 400);
    const wrong = await conforms(request(app).post('/login/mfa').send({ mfa_token: token, code: wrongCode(secret, clock.now()) }), 401);
    expect(wrong.body.error).toBe('invalid_mfa_code');
    const forged = await conforms(request(app).post('/login/mfa').send({ mfa_token: 'not-an-mfa-token', code: nextCode() }), 401);
    expect(forged.body.error).toBe('invalid_grant');
  });

  it('documents POST /login/mfa 429 once failed logins exhaust LOGIN_RATE_LIMIT_MAX', async () => {
    const { app, email, clock, secret } = await withTotp({ LOGIN_RATE_LIMIT_MAX: '1' });
    const { mfa_token: token } = (await request(app).post('/login').send({ email, password: PASSWORD })).body as { mfa_token: string };
    const wrong = { mfa_token: token, code: wrongCode(secret, clock.now()) };
    await conforms(request(app).post('/login/mfa').send(wrong), 401);
    const limited = await conforms(request(app).post('/login/mfa').send(wrong), 429);
    expect(limited.body.error).toBe('rate_limited');
  });

  it('documents 501 on each of them without MFA_ENCRYPTION_KEY where factors are kept beyond the process', async () => {
    // A factor enrolled while the key was set; the app restarted without it, on a DATABASE_URL (the stores stay in memory here).
    const { stores, clock, email, tokens, nextCode } = await withTotp();
    const { app } = buildTestApp({ clock, stores, env: { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/none' } });
    await conforms(request(app).post('/mfa/totp').set(...bearer(tokens.access_token)), 501);
    await conforms(request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: nextCode() }), 501);
    await conforms(request(app).delete('/mfa/totp').set(...bearer(tokens.access_token)).send({ code: nextCode() }), 501);
    const { mfa_token: token } = (await request(app).post('/login').send({ email, password: PASSWORD })).body as { mfa_token: string };
    const off = await conforms(request(app).post('/login/mfa').send({ mfa_token: token, code: nextCode() }), 501);
    expect(off.body.error).toBe('not_configured');
  });

  it('documents POST /login/mfa 403 when an admin disabled the account between the password and the code', async () => {
    const { app, email, nextCode, tokens } = await withTotp();
    const admin = await adminAndLogin(app);
    const { mfa_token: token } = (await request(app).post('/login').send({ email, password: PASSWORD })).body as { mfa_token: string };
    const userId = decodeJwt(tokens.access_token).payload.sub as string;
    await request(app).patch(`/admin/users/${userId}`).set(...bearer(admin.tokens.access_token)).send({ disabled: true }).expect(200);
    const refused = await conforms(request(app).post('/login/mfa').send({ mfa_token: token, code: nextCode() }), 403);
    expect(refused.body.error).toBe('account_disabled');
  });

  it('documents POST /login/mfa 429 past the per-address limit', async () => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '1' } });
    const body = { mfa_token: 'not-an-mfa-token', code: '123456' };
    expect((await request(app).post('/login/mfa').send(body)).status).toBe(401);
    await conforms(request(app).post('/login/mfa').send(body), 429);
  });
});

describe('a store failing', () => {
  // What a failing store throws: something unexpected (500), or the Redis stores' "unreachable" (503).
  let failure: Error = new Error('disk on fire');
  const fail = <T extends object>(store: T, method: keyof T & string) =>
    jest.spyOn(store, method as never).mockImplementation((() => Promise.reject(failure)) as never);
  type Act = (app: AuthApp, token: string, refresh: string) => PromiseLike<Response>;
  const failures: [string, (stores: Stores) => unknown, Act][] = [
    ['POST /register', (s) => fail(s.users, 'create'), (app) => request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD })],
    ['POST /login', (s) => fail(s.users, 'findByEmail'), (app) => request(app).post('/login').send({ email: uniqueEmail(), password: PASSWORD })],
    ['POST /refresh', (s) => fail(s.sessions, 'rotate'), (app, _t, refresh) => request(app).post('/refresh').send({ refresh_token: refresh })],
    ['POST /logout', (s) => fail(s.sessions, 'get'), (app, _t, refresh) => request(app).post('/logout').send({ refresh_token: refresh })],
    ['GET /profile', (s) => fail(s.users, 'findById'), (app, token) => request(app).get('/profile').set(...bearer(token))],
    ['GET /sessions', (s) => fail(s.sessions, 'listByUser'), (app, token) => request(app).get('/sessions').set(...bearer(token))],
    ['DELETE /sessions/{id}', (s) => fail(s.sessions, 'get'), (app, token) => request(app).delete('/sessions/x').set(...bearer(token))],
    ['GET /admin/users', (s) => fail(s.users, 'listPage'), (app, token) => request(app).get('/admin/users').set(...bearer(token))],
    [
      'POST /admin/users',
      (s) => fail(s.users, 'create'),
      (app, token) => request(app).post('/admin/users').set(...bearer(token)).send({ email: uniqueEmail(), password: PASSWORD }),
    ],
    ['GET /admin/users/{id}', (s) => fail(s.users, 'findById'), (app, token) => request(app).get('/admin/users/x').set(...bearer(token))],
    [
      'PATCH /admin/users/{id}',
      (s) => fail(s.users, 'findById'),
      (app, token) => request(app).patch('/admin/users/x').set(...bearer(token)).send({ disabled: true }),
    ],
    ['DELETE /admin/users/{id}', (s) => fail(s.users, 'findById'), (app, token) => request(app).delete('/admin/users/x').set(...bearer(token))],
    [
      'DELETE /admin/users/{id}/sessions',
      (s) => fail(s.users, 'findById'),
      (app, token) => request(app).delete('/admin/users/x/sessions').set(...bearer(token)),
    ],
    ['DELETE /admin/users/{id}/mfa', (s) => fail(s.users, 'findById'), (app, token) => request(app).delete('/admin/users/x/mfa').set(...bearer(token))],
    ['GET /admin/audit', (s) => fail(s.audit, 'list'), (app, token) => request(app).get('/admin/audit').set(...bearer(token))],
    ['POST /introspect', (s) => fail(s.sessions, 'isActive'), (app, token) => introspect(app).type('form').send({ token })],
    [
      'POST /password/change',
      (s) => fail(s.users, 'findById'),
      (app, token) => request(app).post('/password/change').set(...bearer(token)).send({ current_password: PASSWORD, new_password: NEW_PASSWORD }),
    ],
    ['POST /password/forgot', (s) => fail(s.rateLimits, 'increment'), (app) => request(app).post('/password/forgot').send({ email: uniqueEmail() })],
    [
      'POST /password/reset',
      (s) => fail(s.oneTimeTokens, 'consume'),
      (app) => request(app).post('/password/reset').send({ token: 'a'.repeat(43), new_password: NEW_PASSWORD }),
    ],
    ['POST /email/verify', (s) => fail(s.oneTimeTokens, 'consume'), (app) => request(app).post('/email/verify').send({ token: 'a'.repeat(43) })],
    ['POST /email/verify/resend', (s) => fail(s.users, 'findById'), (app, token) => request(app).post('/email/verify/resend').set(...bearer(token))],
    ['DELETE /profile', (s) => fail(s.users, 'findById'), (app, token) => request(app).delete('/profile').set(...bearer(token)).send({ password: PASSWORD })],
    ['POST /mfa/totp', (s) => fail(s.mfa, 'putPending'), (app, token) => request(app).post('/mfa/totp').set(...bearer(token))],
    ['POST /mfa/totp/confirm', (s) => fail(s.mfa, 'get'), (app, token) => request(app).post('/mfa/totp/confirm').set(...bearer(token)).send({ code: '123456' })],
    ['DELETE /mfa/totp', (s) => fail(s.mfa, 'get'), (app, token) => request(app).delete('/mfa/totp').set(...bearer(token)).send({ code: '123456' })],
    [
      'POST /login/mfa',
      (s) => fail(s.oneTimeTokens, 'consume'),
      // A well-signed mfa_token of this user: the route reaches the store of pending sign-ins, which fails.
      (app, token) => request(app).post('/login/mfa').send({ mfa_token: mfaTokenFor(app, token), code: '123456' }),
    ],
  ];

  async function brokenApp(breakStore: (stores: Stores) => unknown) {
    const clock = new FakeClock();
    const stores = createMemoryStores(clock);
    const { app } = buildTestApp({ clock, stores, env: CLIENT_ENV });
    // An admin's token passes every role check, so the failing store is what answers.
    const { tokens } = await adminAndLogin(app);
    breakStore(stores);
    return { app, tokens };
  }

  it.each(failures)('documents 500 on %s when a store fails unexpectedly', async (_route, breakStore, act) => {
    failure = new Error('disk on fire');
    const { app, tokens } = await brokenApp(breakStore);
    const res = await conforms(act(app, tokens.access_token, tokens.refresh_token), 500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'An unexpected error occurred.' });
  });

  it.each(failures)('documents 503 on %s when a store is unreachable', async (_route, breakStore, act) => {
    failure = new AppError('unavailable', { description: 'A backing store is unreachable.' });
    const { app, tokens } = await brokenApp(breakStore);
    const res = await conforms(act(app, tokens.access_token, tokens.refresh_token), 503);
    expect(res.body.error).toBe('unavailable');
  });
});

describe('the verification routes', () => {
  it('documents GET /.well-known/jwks.json 200', async () => {
    const res = await conforms(request(buildTestApp().app).get('/.well-known/jwks.json'), 200);
    expect(res.body).toEqual({ keys: [] });
  });

  it('documents both discovery documents 200 with an http(s) JWT_ISSUER, and 404 without one', async () => {
    const { app } = buildTestApp({ env: { JWT_ISSUER: 'https://auth.example.com' } });
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const served = await conforms(request(app).get(path), 200);
      expect(served.body.jwks_uri).toBe('https://auth.example.com/.well-known/jwks.json');
      const off = await conforms(request(buildTestApp().app).get(path), 404);
      expect(off.body.error).toBe('not_found');
    }
  });

  it('documents POST /introspect 200 (active and not), 400, 401, 413 and 415', async () => {
    const { app, tokens } = await withUser(CLIENT_ENV);
    const live = await conforms(introspect(app).type('form').send({ token: tokens.access_token }), 200);
    expect(live.body.active).toBe(true);
    const dead = await conforms(introspect(app).send({ token: tokens.refresh_token }), 200);
    expect(dead.body).toEqual({ active: false });
    await conforms(introspect(app).type('form').send({ token_type_hint: 'access_token' }), 400);
    await conforms(request(app).post('/introspect').type('form').send({ token: tokens.access_token }), 401);
    await conforms(introspect(app).type('form').send(`token=${'a'.repeat(11_000)}`), 413);
    await conforms(introspect(app).set('Content-Type', 'text/plain').send('token=abc'), 415);
  });
});

describe('the service routes', () => {
  it('documents GET /health, /ready, /openapi.json and /docs', async () => {
    const { app } = buildTestApp();
    await conforms(request(app).get('/health'), 200);
    await conforms(request(app).get('/ready'), 200);
    await conforms(request(app).get('/openapi.json'), 200);
    await conforms(request(app).get('/docs'), 200);
  });

  it('documents GET /metrics 200 open outside production; with METRICS_TOKEN 200, 400 and 401; 404 in production without it', async () => {
    const open = await conforms(request(buildTestApp().app).get('/metrics'), 200);
    expect(open.text).toMatch(/^# HELP /m);
    const token = 'scrape-Vb7nQ2xK9mW4cR8tY1pL6hJ3fD5sA0gZ';
    const { app } = buildTestApp({ env: { METRICS_TOKEN: token } });
    const scraped = await conforms(request(app).get('/metrics').set(...bearer(token)), 200);
    expect(scraped.text).toContain('auth_logins_total');
    await conforms(request(app).get('/metrics').set('Authorization', 'Bearer'), 400);
    const none = await conforms(request(app).get('/metrics'), 401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="auth"');
    const wrong = await conforms(request(app).get('/metrics').set(...bearer('not-the-token')), 401);
    expect(wrong.body.error).toBe('invalid_token');
    const off = await conforms(request(buildTestApp({ env: { NODE_ENV: 'production' } }).app).get('/metrics'), 404);
    expect(off.body.error).toBe('not_found');
  });

  it('documents GET /ready 503 when a store is down', async () => {
    const clock = new FakeClock();
    const stores = { ...createMemoryStores(clock), ping: () => Promise.reject(new Error('down')) };
    await conforms(request(buildTestApp({ clock, stores }).app).get('/ready'), 503);
  });
});

describe('paths and methods outside the operations', () => {
  const paths = [...new Set(API_OPERATIONS.map((op) => op.path))];

  // An issuer URL, so that the discovery paths exist too (without one they are unknown: 404).
  const app = buildTestApp({ env: { JWT_ISSUER: 'https://auth.example.com' } }).app;

  it.each(paths)('answers PUT %s with the documented 405 and an Allow of exactly its documented methods', async (path) => {
    const concrete = path.replace(/\{[^}]+\}/g, 'x');
    const res = await conforms(request(app).put(concrete), 405);
    const methods = API_OPERATIONS.filter((op) => op.path === path).flatMap((op) =>
      op.method === 'get' ? ['GET', 'HEAD'] : [op.method.toUpperCase()],
    );
    expect(res.headers.allow!.split(', ').sort()).toEqual(methods.sort());
  });

  it('answers an unknown path with the documented 404', async () => {
    await conforms(request(buildTestApp().app).get('/no/such/route'), 404);
  });
});

// Runs last: every response the document promises was produced by a test above.
it('has seen every documented status of every operation', () => {
  expect(conformance.unexercised()).toEqual([]);
});
