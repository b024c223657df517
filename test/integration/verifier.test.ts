// createVerifyToken as another service uses it (from src/verify): shared keys, issuer, audience, tolerance, revocation check.
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { totpCode } from '../../src/auth/totp';
import { authErrorHandler, createVerifyToken, requireAmr, requireRole, type IsRevoked, type VerifyTokenOptions } from '../../src/verify';
import { buildTestApp } from '../helpers/build-app';
import { adminAndLogin, bearer, decodeJwt, PASSWORD, registerAndLogin } from '../helpers/fixtures';
import { forgeAccessToken } from '../helpers/forge';
import { TEST_ENV } from '../helpers/test-config';

const KID = 'test-key-1';
const KEYS = { [KID]: TEST_ENV.JWT_SECRET! };

/** The auth server the tokens come from: its JWT_SECRET under a known kid. */
const auth = buildTestApp({ env: { JWT_SECRET_ID: KID } });

/** A tiny service: one protected route echoing req.auth, one for admins, the verifier's error handler, then its own. */
function service(options: Partial<VerifyTokenOptions> = {}) {
  const verifyToken = createVerifyToken({ keys: KEYS, issuer: 'auth-server', audience: 'api', clock: auth.clock, ...options } as VerifyTokenOptions);
  const app = express();
  app.get('/me', verifyToken, (req, res) => void res.json({ auth: req.auth }));
  app.get('/admin', verifyToken, requireRole('admin'), (_req, res) => void res.json({ ok: true }));
  app.get('/payout', verifyToken, requireAmr('otp'), (_req, res) => void res.json({ ok: true }));
  app.use(authErrorHandler());
  app.use(((error, _req, res, _next) => {
    res.status(500).json({ error: 'service_error', message: String(error) });
  }) as express.ErrorRequestHandler);
  return app;
}

function expectChallenge(res: request.Response, status: number, error: string, description: string) {
  expect(res.status).toBe(status);
  expect(res.headers['www-authenticate']).toBe(`Bearer realm="auth", error="${error}", error_description="${description}"`);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toEqual({ error, error_description: description });
}

describe('createVerifyToken in another service, with the shared key', () => {
  it('accepts a token from a real login and sets req.auth', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const { payload } = decodeJwt(tokens.access_token);
    const res = await request(service()).get('/me').set(...bearer(tokens.access_token));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      auth: { userId: tokens.user.id, sessionId: payload.sid, tokenId: payload.jti, role: 'user', amr: ['pwd'], expiresAt: tokens.expires_at },
    });
  });

  it('lets requireRole refuse a user (403 insufficient_scope) and admit an admin', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const refused = await request(service()).get('/admin').set(...bearer(tokens.access_token));
    expectChallenge(refused, 403, 'insufficient_scope', 'Your role does not allow this.');

    const admin = await adminAndLogin(auth.app);
    const admitted = await request(service()).get('/admin').set(...bearer(admin.tokens.access_token));
    expect(admitted.status).toBe(200);
  });

  it('lets requireAmr("otp") refuse a password-only token (403 insufficient_scope) and admit one of a sign-in with a code', async () => {
    const mfa = buildTestApp({ env: { JWT_SECRET_ID: KID, MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=' } });
    const { email, tokens } = await registerAndLogin(mfa.app);
    const refused = await request(service({ clock: mfa.clock })).get('/payout').set(...bearer(tokens.access_token));
    expectChallenge(refused, 403, 'insufficient_scope', 'This needs a sign-in with a second factor (amr otp).');

    const { secret } = (await request(mfa.app).post('/mfa/totp').set(...bearer(tokens.access_token))).body as { secret: string };
    await request(mfa.app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(secret, mfa.clock.now()) }).expect(200);
    const { mfa_token: mfaToken } = (await request(mfa.app).post('/login').send({ email, password: PASSWORD }).expect(403)).body as { mfa_token: string };
    mfa.clock.advanceSeconds(30);
    const second = await request(mfa.app).post('/login/mfa').send({ mfa_token: mfaToken, code: totpCode(secret, mfa.clock.now()) }).expect(200);
    const admitted = await request(service({ clock: mfa.clock })).get('/payout').set(...bearer(second.body.access_token));
    expect({ status: admitted.status, body: admitted.body }).toEqual({ status: 200, body: { ok: true } });
  });

  it('answers a request without credentials with the realm-only challenge', async () => {
    const res = await request(service()).get('/me');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Authentication is required.' });
  });

  it('answers 400 invalid_request to a malformed Authorization header and to a token in the query', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const malformed = await request(service()).get('/me').set('Authorization', 'Bearer two tokens');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_request');
    const query = await request(service()).get(`/me?access_token=${tokens.access_token}`);
    expect(query.status).toBe(400);
  });

  it.each([
    ['another issuer is expected', { issuer: 'https://auth.elsewhere.example' }],
    ['another audience is expected', { audience: 'billing' }],
    ['the kid is not among the keys', { keys: { 'other-kid': TEST_ENV.JWT_SECRET! } }],
    ['the kid has another secret', { keys: { [KID]: 'another-secret-0123456789-abcdefghijklmnop' } }],
    ['the token lives longer than maxTokenLifetime', { maxTokenLifetime: 600 }],
  ])('refuses a good token as "token invalid" when %s', async (_name, options) => {
    const { tokens } = await registerAndLogin(auth.app);
    const res = await request(service(options)).get('/me').set(...bearer(tokens.access_token));
    expectChallenge(res, 401, 'invalid_token', 'token invalid');
  });

  it('forgives clockTolerance seconds on exp, and no more', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const { payload } = decodeJwt(tokens.access_token);
    const now = Math.floor(auth.clock.now() / 1000);
    const justExpired = forgeAccessToken({ ...payload, iat: now - 903, exp: now - 3 }, KID);

    expectChallenge(await request(service()).get('/me').set(...bearer(justExpired)), 401, 'invalid_token', 'token expired');
    expect((await request(service({ clockTolerance: 5 })).get('/me').set(...bearer(justExpired))).status).toBe(200);
    const longExpired = forgeAccessToken({ ...payload, iat: now - 906, exp: now - 6 }, KID);
    const res = await request(service({ clockTolerance: 5 })).get('/me').set(...bearer(longExpired));
    expectChallenge(res, 401, 'invalid_token', 'token expired');
  });
});

describe('the revocation check of createVerifyToken', () => {
  it('without one, accepts the token of an ended session until it expires (the documented trade-off)', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    expect((await request(auth.app).post('/logout').set(...bearer(tokens.access_token))).status).toBe(204);

    expect((await request(service()).get('/me').set(...bearer(tokens.access_token))).status).toBe(200);
    auth.clock.advanceSeconds(900);
    const res = await request(service()).get('/me').set(...bearer(tokens.access_token));
    expectChallenge(res, 401, 'invalid_token', 'token expired');
  });

  it('asks isRevoked with the session id, the token and its claims, and refuses a revoked one as "token revoked"', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const { payload } = decodeJwt(tokens.access_token);
    const calls: unknown[] = [];
    const isRevoked: IsRevoked = async (sessionId, context) => {
      calls.push({ sessionId, ...context });
      return !(await auth.stores.sessions.isActive(sessionId));
    };
    const app = service({ isRevoked });

    expect((await request(app).get('/me').set(...bearer(tokens.access_token))).status).toBe(200);
    expect(calls).toEqual([
      { sessionId: payload.sid, token: tokens.access_token, claims: expect.objectContaining({ userId: tokens.user.id }) },
    ]);
    expect((await request(auth.app).post('/logout').set(...bearer(tokens.access_token))).status).toBe(204);
    expectChallenge(await request(app).get('/me').set(...bearer(tokens.access_token)), 401, 'invalid_token', 'token revoked');
  });

  it('never asks isRevoked about a token that failed verification', async () => {
    const isRevoked = jest.fn(() => false);
    const res = await request(service({ isRevoked })).get('/me').set(...bearer('a.b.c'));
    expectChallenge(res, 401, 'invalid_token', 'token invalid');
    expect(isRevoked).not.toHaveBeenCalled();
  });

  it('fails closed: a revocation check that throws lets nothing through', async () => {
    const { tokens } = await registerAndLogin(auth.app);
    const isRevoked = () => Promise.reject(new Error('auth server unreachable'));
    const res = await request(service({ isRevoked })).get('/me').set(...bearer(tokens.access_token));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'service_error', message: 'Error: auth server unreachable' });
  });

  it('works in Express 4 style too: errors are passed to next(), not thrown from a promise', async () => {
    const verifyToken = createVerifyToken({ keys: KEYS, issuer: 'auth-server', audience: 'api' });
    const next = jest.fn();
    // What Node gives every request, Express 4 or 5: the raw header list and the URL.
    const req = { rawHeaders: ['Host', 'notes.example'], url: '/me', query: {} } as unknown as Parameters<RequestHandler>[0];
    verifyToken(req, {} as Parameters<RequestHandler>[1], next);
    await new Promise((resolve) => setImmediate(resolve));
    expect(next).toHaveBeenCalledTimes(1);
    expect(next.mock.calls[0]![0]).toMatchObject({ code: 'unauthorized', status: 401 });
  });
});

describe('createVerifyToken options', () => {
  it.each([
    ['no issuer', { keys: KEYS, audience: 'api' }, /issuer is required/],
    ['no audience', { keys: KEYS, issuer: 'auth-server' }, /audience is required/],
    ['neither keys nor jwks', { issuer: 'auth-server', audience: 'api' }, /give keys, jwks, or both/],
    ['a secret under 32 bytes', { keys: { k: 'short' }, issuer: 'auth-server', audience: 'api' }, /at least 32 bytes/],
    ['a kid with a colon', { keys: { 'a:b': TEST_ENV.JWT_SECRET }, issuer: 'auth-server', audience: 'api' }, /not a valid kid/],
    ['a JWKS over plain http to another host', { jwks: 'http://auth.example.com/jwks.json', issuer: 'i', audience: 'a' }, /https/],
    ['a JWKS URL that is no URL', { jwks: 'auth/jwks.json', issuer: 'i', audience: 'a' }, /absolute URL/],
    ['a negative clockTolerance', { keys: KEYS, issuer: 'i', audience: 'a', clockTolerance: -1 }, /clockTolerance/],
  ])('throws at creation for %s', (_name, options, message) => {
    expect(() => createVerifyToken(options as unknown as VerifyTokenOptions)).toThrow(message);
  });

  it('accepts a JWKS URL over https, or over http to localhost, without fetching anything yet', () => {
    expect(() => createVerifyToken({ jwks: 'https://auth.example.com/.well-known/jwks.json', issuer: 'i', audience: 'a' })).not.toThrow();
    expect(() => createVerifyToken({ jwks: { url: 'http://127.0.0.1:1/jwks.json' }, issuer: 'i', audience: 'a' })).not.toThrow();
  });
});
