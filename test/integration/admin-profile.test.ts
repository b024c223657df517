// GET /profile and GET /admin/users (its answer and its guard), and verifyToken refusing forged access tokens that differ in one point.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { adminAndLogin, bearer, expectError, registerAndLogin } from '../helpers/fixtures';
import { accessTokenParts, forgeAccessToken } from '../helpers/forge';

function profile(app: AuthApp, accessToken: string) {
  return request(app).get('/profile').set(...bearer(accessToken));
}

describe('GET /profile', () => {
  it("answers 200 with the token's user", async () => {
    const { app } = buildTestApp();
    const { user, tokens } = await registerAndLogin(app);
    const res = await profile(app, tokens.access_token);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ user });
  });

  it('answers 401 unauthorized with the realm-only challenge without a token', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/profile');
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
  });
});

describe('GET /admin/users', () => {
  it('shows an admin a page of every user, as admins see them, without password hashes', async () => {
    const { app, clock } = buildTestApp();
    const { user } = await registerAndLogin(app);
    // Users are listed by (createdAt, id): two created in the same millisecond come in id order.
    clock.advance(1000);
    const { email: adminEmail, tokens } = await adminAndLogin(app);
    const res = await request(app).get('/admin/users').set(...bearer(tokens.access_token));

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    // The fake clock stood still between each registration and its login.
    expect(res.body).toEqual({
      users: [
        { ...user, disabled: false, last_login_at: user.created_at },
        {
          id: tokens.user.id,
          email: adminEmail,
          role: 'admin',
          created_at: tokens.user.created_at,
          email_verified: false,
          mfa_enabled: false,
          disabled: false,
          last_login_at: tokens.user.created_at,
        },
      ],
      next_cursor: null,
    });
    expect(res.text).not.toMatch(/\$2[aby]\$|hash|password/i);
  });

  it('pages with ?limit and the cursor it hands out', async () => {
    const { app, clock } = buildTestApp();
    const { user } = await registerAndLogin(app);
    clock.advance(1000);
    const { tokens } = await adminAndLogin(app);
    const first = await request(app).get('/admin/users?limit=1').set(...bearer(tokens.access_token));
    expect(first.body).toEqual({ users: [expect.objectContaining({ id: user.id })], next_cursor: expect.any(String) });
    const second = await request(app)
      .get(`/admin/users?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`)
      .set(...bearer(tokens.access_token));
    expect(second.body).toEqual({ users: [expect.objectContaining({ id: tokens.user.id })], next_cursor: null });
  });

  it('answers 403 insufficient_scope with its challenge to a user', async () => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    const res = await request(app).get('/admin/users').set(...bearer(tokens.access_token));

    const body = expectError(res, 403, 'insufficient_scope');
    expect(res.headers['www-authenticate']).toBe(
      `Bearer realm="auth", error="insufficient_scope", error_description="${body.error_description}"`,
    );
    expect(res.body).not.toHaveProperty('users');
  });

  it('answers 401 without a token', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/admin/users');
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
  });
});

describe('verifyToken and forged access tokens', () => {
  const built = buildTestApp();
  const { app } = built;
  let kid: string;
  let claims: Record<string, unknown>;
  let now: number;

  beforeAll(async () => {
    const { tokens } = await registerAndLogin(app);
    ({ kid, claims } = accessTokenParts(tokens.access_token));
    now = Math.floor(built.clock.now() / 1000);
  });

  /** The real token's claims, freshly issued, with `changes` applied (undefined removes a claim). */
  function claimsWith(changes: Record<string, unknown>): Record<string, unknown> {
    const merged: Record<string, unknown> = { ...claims, jti: 'forged', iat: now, exp: now + 900, ...changes };
    return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  }

  it('accepts a correctly forged token for a live session (the forgery itself is sound)', async () => {
    const res = await profile(app, forgeAccessToken(claimsWith({}), kid));
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(claims.sub);
  });

  const forgeries: [string, () => string][] = [
    ['no exp', () => forgeAccessToken(claimsWith({ exp: undefined }), kid)],
    ['an iat 2 minutes in the future', () => forgeAccessToken(claimsWith({ iat: now + 120, exp: now + 900 }), kid)],
    ['a lifetime longer than ACCESS_TOKEN_TTL', () => forgeAccessToken(claimsWith({ exp: now + 901 }), kid)],
    ['another issuer', () => forgeAccessToken(claimsWith({ iss: 'someone-else' }), kid)],
    ['another audience', () => forgeAccessToken(claimsWith({ aud: 'other-api' }), kid)],
    ['the issuer as audience (a refresh token\'s)', () => forgeAccessToken(claimsWith({ aud: 'auth-server' }), kid)],
    ['typ "JWT"', () => forgeAccessToken(claimsWith({}), kid, { header: { typ: 'JWT' } })],
    ['typ "rt+jwt"', () => forgeAccessToken(claimsWith({}), kid, { header: { typ: 'rt+jwt' } })],
    ['HS512', () => forgeAccessToken(claimsWith({}), kid, { algorithm: 'HS512' })],
    ['alg "none"', () => forgeAccessToken(claimsWith({}), kid, { algorithm: 'none' })],
    ['an unknown role', () => forgeAccessToken(claimsWith({ role: 'superuser' }), kid)],
    ['sub as a number', () => forgeAccessToken(claimsWith({ sub: 12345 }), kid)],
    ['no sid', () => forgeAccessToken(claimsWith({ sid: undefined }), kid)],
    ['a non-object payload', () => forgeAccessToken('just a string', kid)],
    ['a JSON array payload', () => forgeAccessToken(JSON.stringify([claimsWith({})]), kid)],
    ['an unknown kid', () => forgeAccessToken(claimsWith({}), 'unknown-kid')],
    ['no kid', () => forgeAccessToken(claimsWith({}), kid, { header: { kid: undefined } })],
    ['a crit header', () => forgeAccessToken(claimsWith({}), kid, { header: { crit: ['exp'] } })],
    ['another secret', () => forgeAccessToken(claimsWith({}), kid, { secret: 'another-secret-0123456789-abcdefghij' })],
  ];

  it.each(forgeries)('rejects a token with %s: 401 invalid_token "token invalid"', async (_name, forge) => {
    const res = await profile(app, forge());

    const body = expectError(res, 401, 'invalid_token');
    expect(body.error_description).toBe('token invalid');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token invalid"',
    );
  });

  it('rejects a forged token whose exp has passed as "token expired"', async () => {
    const res = await profile(app, forgeAccessToken(claimsWith({ iat: now - 900, exp: now }), kid));
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token expired');
  });

  it('rejects a well-forged token for a session that does not exist as "token revoked"', async () => {
    const res = await profile(app, forgeAccessToken(claimsWith({ sid: 'no-such-session' }), kid));
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token revoked');
  });
});
