// POST /login: the TokenResponse, what the access and refresh tokens carry, and one answer for every failure.
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, login, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { TEST_ENV } from '../helpers/test-config';

const nowSec = (clock: { now(): number }) => Math.floor(clock.now() / 1000);

describe('POST /login', () => {
  it('answers 200 with exactly the TokenResponse fields and Cache-Control: no-store', async () => {
    const { app, clock } = buildTestApp();
    const { email, user } = await register(app);
    const res = await request(app).post('/login').send({ email, password: PASSWORD });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const now = nowSec(clock);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      expires_at: now + 900,
      refresh_token: expect.any(String),
      refresh_expires_in: 604800,
      user,
    });
    expect(decodeJwt(res.body.access_token).payload.exp).toBe(res.body.expires_at);
    expect(decodeJwt(res.body.refresh_token).payload.exp).toBe(now + 604800);
  });

  it('follows ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, JWT_ISSUER and JWT_AUDIENCE', async () => {
    const { app, clock } = buildTestApp({
      env: {
        ACCESS_TOKEN_TTL: '5m',
        REFRESH_TOKEN_TTL: '1d',
        JWT_ISSUER: 'https://auth.example',
        JWT_AUDIENCE: 'shop',
      },
    });
    const { email } = await register(app);
    const tokens = await login(app, email);

    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_expires_in).toBe(86400);
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({
      iss: 'https://auth.example',
      aud: 'shop',
      exp: nowSec(clock) + 300,
    });
    expect(decodeJwt(tokens.refresh_token).payload).toMatchObject({
      iss: 'https://auth.example',
      aud: 'https://auth.example',
    });
    const profile = await request(app).get('/profile').set(...bearer(tokens.access_token));
    expect(profile.status).toBe(200);
  });

  it('issues an HS256 "at+jwt" access token with a kid, the contract claims, and no email', async () => {
    const { app, clock } = buildTestApp();
    const { email, user } = await register(app);
    const tokens = await login(app, email);
    const { header, payload } = decodeJwt(tokens.access_token);
    const now = nowSec(clock);

    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(Object.keys(payload).sort()).toEqual(['amr', 'aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub']);
    expect(payload).toEqual({
      iss: 'auth-server',
      aud: 'api',
      sub: user.id,
      sid: expect.any(String),
      jti: expect.any(String),
      iat: now,
      exp: now + 900,
      role: 'user',
      amr: ['pwd'],
    });
    expect(JSON.stringify(payload)).not.toContain(email);
    expect(jwt.verify(tokens.access_token, TEST_ENV.JWT_SECRET!, { algorithms: ['HS256'] })).toBeTruthy();
  });

  it('issues an "rt+jwt" refresh token of the same session, audience the issuer, under another key', async () => {
    const { app, clock } = buildTestApp();
    const { email, user } = await register(app);
    const tokens = await login(app, email);
    const access = decodeJwt(tokens.access_token);
    const { header, payload } = decodeJwt(tokens.refresh_token);
    const now = nowSec(clock);

    expect(header).toEqual({ alg: 'HS256', typ: 'rt+jwt', kid: expect.any(String) });
    expect(header.kid).not.toBe(access.header.kid);
    expect(payload).toEqual({
      iss: 'auth-server',
      aud: 'auth-server',
      sub: user.id,
      sid: access.payload.sid,
      jti: expect.any(String),
      iat: now,
      exp: now + 604800,
      // The session's sign-in methods, so refreshed access tokens keep their amr.
      amr: ['pwd'],
    });
    expect(payload.jti).not.toBe(access.payload.jti);
    expect(JSON.stringify(payload)).not.toContain(email);
    expect(jwt.verify(tokens.refresh_token, TEST_ENV.JWT_REFRESH_SECRET!, { algorithms: ['HS256'] })).toBeTruthy();
    expect(() => jwt.verify(tokens.refresh_token, TEST_ENV.JWT_SECRET!, { algorithms: ['HS256'] })).toThrow(
      jwt.JsonWebTokenError,
    );
  });

  it('gives every login its own session', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const first = decodeJwt((await login(app, email)).access_token).payload;
    const second = decodeJwt((await login(app, email)).access_token).payload;
    expect(second.sid).not.toBe(first.sid);
    expect(second.jti).not.toBe(first.jti);
  });

  it('rejects a refresh token sent as a Bearer access token', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const tokens = await login(app, email);
    const res = await request(app).get('/profile').set(...bearer(tokens.refresh_token));

    const body = expectError(res, 401, 'invalid_token');
    expect(body.error_description).toBe('token invalid');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="invalid_token", error_description="token invalid"',
    );
  });

  it('rejects an access token sent to /refresh with 401 invalid_grant', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const tokens = await login(app, email);
    const res = await request(app).post('/refresh').send({ refresh_token: tokens.access_token });

    expectError(res, 401, 'invalid_grant');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toHaveProperty('access_token');
  });

  it('accepts the email in any case and with surrounding whitespace', async () => {
    const { app } = buildTestApp();
    const { email, user } = await register(app);
    const res = await request(app)
      .post('/login')
      .send({ email: `  ${email.toUpperCase()} `, password: PASSWORD });

    expect(res.status).toBe(200);
    expect(res.body.user).toEqual(user);
  });

  it('answers an unknown email and a wrong password byte for byte alike', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const unknown = await request(app).post('/login').send({ email: uniqueEmail('nobody'), password: PASSWORD });
    const wrong = await request(app).post('/login').send({ email, password: `${PASSWORD}!` });

    expectError(unknown, 401, 'invalid_credentials');
    expect(wrong.status).toBe(unknown.status);
    expect(wrong.text).toBe(unknown.text);
    expect(Object.keys(wrong.headers).sort()).toEqual(Object.keys(unknown.headers).sort());
    // Only the date, the request id and the rate-limit values (counters, partition keys) may differ.
    const varying = new Set(['date', 'x-request-id', 'ratelimit']);
    const stable = (headers: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(headers)
          .filter(([name]) => !varying.has(name))
          .map(([name, value]) => [name, name === 'ratelimit-policy' ? value.replace(/; pk=:[^:]*:/g, '') : value]),
      );
    expect(stable(wrong.headers)).toEqual(stable(unknown.headers));
    expect(unknown.headers['cache-control']).toBe('no-store');
  });

  it('refuses a password that differs only in case', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    const res = await request(app).post('/login').send({ email, password: PASSWORD.toUpperCase() });
    expectError(res, 401, 'invalid_credentials');
  });
});
