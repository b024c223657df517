// Rotating the access-token key without downtime (add as verifier, sign, drop), and the switch from HS256 to ES256.
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { KeyVerifier } from '../../src/verify';
import { createMemoryStores } from '../../src/stores/memory';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, decodeJwt, expectError, login, register, type TokenResponseBody } from '../helpers/fixtures';

const OLD = { kid: 'key-2025', secret: 'rotation-old-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA' };
const NEW = { kid: 'key-2026', secret: 'rotation-new-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX' };

/** The four configurations an instance goes through, as the README's procedure writes them. */
const STEP = {
  before: { JWT_SECRET: OLD.secret, JWT_SECRET_ID: OLD.kid },
  newKeyVerifies: { JWT_SECRET: OLD.secret, JWT_SECRET_ID: OLD.kid, JWT_VERIFY_SECRETS: `${NEW.kid}:${NEW.secret}` },
  newKeySigns: { JWT_SECRET: NEW.secret, JWT_SECRET_ID: NEW.kid, JWT_VERIFY_SECRETS: `${OLD.kid}:${OLD.secret}` },
  oldKeyDropped: { JWT_SECRET: NEW.secret, JWT_SECRET_ID: NEW.kid },
};

async function profileStatus(app: AuthApp, token: string) {
  return request(app).get('/profile').set(...bearer(token));
}

describe('rotating the access-token key while tokens of the old key are in use', () => {
  // Every instance shares the stores and the clock, as instances behind one load balancer would.
  const clock = new FakeClock();
  const stores = createMemoryStores(clock);
  const instance = (env: Record<string, string>) => buildTestApp({ env, clock, stores }).app;

  const before = instance(STEP.before);
  const newKeyVerifies = instance(STEP.newKeyVerifies);
  const newKeySigns = instance(STEP.newKeySigns);
  const oldKeyDropped = instance(STEP.oldKeyDropped);
  let email: string;
  let oldTokens: TokenResponseBody;

  beforeAll(async () => {
    ({ email } = await register(before));
    oldTokens = await login(before, email);
  });

  it('issues tokens under the configured kid (JWT_SECRET_ID)', () => {
    expect(decodeJwt(oldTokens.access_token).header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: OLD.kid });
  });

  it('step 1: an instance that only verifies with the new key still signs with the old one and accepts old tokens', async () => {
    expect((await profileStatus(newKeyVerifies, oldTokens.access_token)).status).toBe(200);
    const tokens = await login(newKeyVerifies, email);
    expect(decodeJwt(tokens.access_token).header.kid).toBe(OLD.kid);
  });

  it('step 2: once the new key signs, tokens from before keep working everywhere that knows both keys', async () => {
    const newTokens = await login(newKeySigns, email);
    expect(decodeJwt(newTokens.access_token).header.kid).toBe(NEW.kid);

    // Old tokens on the switched instance, new tokens on an instance not yet switched (rolling restart).
    expect((await profileStatus(newKeySigns, oldTokens.access_token)).status).toBe(200);
    expect((await profileStatus(newKeyVerifies, newTokens.access_token)).status).toBe(200);
    // Why step 1 comes first: an instance that never heard of the new key refuses its tokens.
    const res = await profileStatus(before, newTokens.access_token);
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
  });

  it('step 2: a refresh of a session begun under the old key returns an access token of the new key', async () => {
    const session = await login(before, email);
    const res = await request(newKeySigns).post('/refresh').send({ refresh_token: session.refresh_token });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).header.kid).toBe(NEW.kid);
    expect((await profileStatus(oldKeyDropped, res.body.access_token)).status).toBe(200);
  });

  it('another service verifying with both keys accepts both generations, and with the new key alone only the new', async () => {
    const newTokens = await login(newKeySigns, email);
    const both = new KeyVerifier({
      keys: { [OLD.kid]: OLD.secret, [NEW.kid]: NEW.secret },
      issuer: 'auth-server',
      audience: 'api',
      clock,
    });
    const newOnly = new KeyVerifier({ keys: { [NEW.kid]: NEW.secret }, issuer: 'auth-server', audience: 'api', clock });

    await expect(both.verifyAccess(oldTokens.access_token)).resolves.toMatchObject({ userId: oldTokens.user.id });
    await expect(both.verifyAccess(newTokens.access_token)).resolves.toMatchObject({ userId: newTokens.user.id });
    await expect(newOnly.verifyAccess(newTokens.access_token)).resolves.toMatchObject({ userId: newTokens.user.id });
    await expect(newOnly.verifyAccess(oldTokens.access_token)).rejects.toMatchObject({
      code: 'invalid_token',
      description: 'token invalid',
    });
  });

  it('step 3: after dropping the old key its tokens are "token invalid"; waiting one access-token lifetime first loses nothing', async () => {
    // Dropped too early, a still-valid old token is refused: the reason to wait.
    const early = await profileStatus(oldKeyDropped, oldTokens.access_token);
    expect(expectError(early, 401, 'invalid_token').error_description).toBe('token invalid');
    expect(early.headers['www-authenticate']).toBe('Bearer realm="auth", error="invalid_token", error_description="token invalid"');

    // One ACCESS_TOKEN_TTL after the switch, every old token has expired anyway.
    clock.advanceSeconds(15 * 60);
    const expired = await profileStatus(newKeySigns, oldTokens.access_token);
    expect(expectError(expired, 401, 'invalid_token').error_description).toBe('token expired');

    const fresh = await login(oldKeyDropped, email);
    expect(decodeJwt(fresh.access_token).header.kid).toBe(NEW.kid);
    expect((await profileStatus(oldKeyDropped, fresh.access_token)).status).toBe(200);
  });
});

describe('switching from HS256 to ES256 while HS256 tokens are in use', () => {
  const clock = new FakeClock();
  const stores = createMemoryStores(clock);
  const instance = (env: Record<string, string>) => buildTestApp({ env, clock, stores }).app;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es256 = { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };

  const before = instance(STEP.before);
  // The README's step: the old key moves to JWT_VERIFY_SECRETS under its kid.
  const switched = instance({ ...es256, JWT_SECRET: '', JWT_VERIFY_SECRETS: `${OLD.kid}:${OLD.secret}` });
  // The mistake the step avoids: JWT_SECRET left as it was, nothing listed.
  const secretLeftAlone = instance({ ...STEP.before, ...es256 });
  let email: string;
  let hsTokens: TokenResponseBody;

  beforeAll(async () => {
    ({ email } = await register(before));
    hsTokens = await login(before, email);
  });

  it('accepts the HS256 tokens issued before the switch when their key is listed in JWT_VERIFY_SECRETS, and signs ES256 from then on', async () => {
    const res = await profileStatus(switched, hsTokens.access_token);
    expect({ status: res.status, user: res.body.user }).toEqual({ status: 200, user: hsTokens.user });
    const fresh = await login(switched, email);
    expect(decodeJwt(fresh.access_token).header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect((await profileStatus(switched, fresh.access_token)).status).toBe(200);
  });

  it('refuses them as "token invalid" under JWT_SECRET alone: with ES256 it verifies nothing', async () => {
    const res = await profileStatus(secretLeftAlone, hsTokens.access_token);
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth", error="invalid_token", error_description="token invalid"');
    expect((await profileStatus(before, hsTokens.access_token)).status).toBe(200);
  });

  it('has them expired one ACCESS_TOKEN_TTL after the switch, so JWT_VERIFY_SECRETS can then be dropped', async () => {
    clock.advanceSeconds(15 * 60);
    const res = await profileStatus(switched, hsTokens.access_token);
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token expired');
    const dropped = instance(es256);
    const fresh = await login(dropped, email);
    expect((await profileStatus(dropped, fresh.access_token)).status).toBe(200);
  });
});
