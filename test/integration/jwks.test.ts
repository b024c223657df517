// GET /.well-known/jwks.json and ES256 access tokens: public keys published (and cacheable), HS256 still the default.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, registerAndLogin } from '../helpers/fixtures';
import { forgeAccessToken, forgeJwt } from '../helpers/forge';
import { TEST_ENV } from '../helpers/test-config';

function p256(): { privatePem: string; publicPem: string; publicKey: KeyObject; privateKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey,
    privatePem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    publicPem: String(publicKey.export({ type: 'spki', format: 'pem' })),
  };
}

/** The JWK of a public key as the JWKS must show it. */
function expectedJwk(publicKey: KeyObject, kid: string) {
  const { x, y } = publicKey.export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' };
}

describe('GET /.well-known/jwks.json with HS256 (the default)', () => {
  it('answers {"keys": []}, cacheable by anyone for five minutes', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/.well-known/jwks.json');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers.pragma).toBeUndefined();
    expect(res.body).toEqual({ keys: [] });
  });

  it('answers 405 with Allow to another method', async () => {
    const { app } = buildTestApp();
    const res = await request(app).post('/.well-known/jwks.json').send({});
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('signs access tokens with HS256', async () => {
    const { app } = buildTestApp();
    const { tokens } = await registerAndLogin(app);
    expect(decodeJwt(tokens.access_token).header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
  });
});

describe('ES256 access tokens (JWT_ALGORITHM=ES256 with JWT_PRIVATE_KEY)', () => {
  const signing = p256();
  const next = p256();
  const world = buildTestApp({
    env: { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: signing.privatePem, JWT_VERIFY_PUBLIC_KEYS: next.publicPem },
  });
  const { app } = world;

  it('signs access tokens with ES256 under the kid the JWKS publishes, with the public key', async () => {
    const { tokens } = await registerAndLogin(app);
    const { header } = decodeJwt(tokens.access_token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const jwks = await request(app).get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');
    expect(jwks.body.keys[0]).toEqual(expectedJwk(signing.publicKey, String(header.kid)));
    // The token checks out with the published key alone (what any JOSE library would do).
    const published = createPublicKey({ key: jwks.body.keys[0], format: 'jwk' });
    expect(jwt.verify(tokens.access_token, published, { algorithms: ['ES256'] })).toMatchObject({ sub: tokens.user.id });
  });

  it('publishes the verify-only public keys after the signing key, and never a private part or a secret', async () => {
    const jwks = await request(app).get('/.well-known/jwks.json');
    expect(jwks.body.keys).toHaveLength(2);
    expect(jwks.body.keys[1]).toEqual(expectedJwk(next.publicKey, expect.any(String)));
    expect(JSON.stringify(jwks.body)).not.toMatch(/"d"|"k"|PRIVATE/);
  });

  it('accepts its ES256 tokens on protected routes, and keeps refresh tokens on HS256', async () => {
    const { tokens } = await registerAndLogin(app);
    expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);
    expect(decodeJwt(tokens.refresh_token).header.alg).toBe('HS256');

    const refreshed = await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token).header.alg).toBe('ES256');
  });

  it('accepts a token signed by a verify-only key (the next or the previous key of a rotation)', async () => {
    const { tokens } = await registerAndLogin(app);
    const jwks = await request(app).get('/.well-known/jwks.json');
    const { payload } = decodeJwt(tokens.access_token);
    const byNextKey = forgeJwt({ alg: 'ES256', typ: 'at+jwt', kid: jwks.body.keys[1].kid }, payload, { alg: 'ES256', privateKey: next.privateKey });

    const res = await request(app).get('/profile').set(...bearer(byNextKey));
    expect(res.status).toBe(200);
  });

  it('refuses an HS256 token signed with JWT_SECRET under the kid it had before the switch: JWT_SECRET alone verifies nothing with ES256', async () => {
    const { tokens } = await registerAndLogin(app);
    const hs256 = buildTestApp();
    const { header: hsHeader } = decodeJwt((await registerAndLogin(hs256.app)).tokens.access_token);
    const { payload } = decodeJwt(tokens.access_token);
    const before = forgeAccessToken(payload, String(hsHeader.kid), { secret: TEST_ENV.JWT_SECRET });

    const res = await request(app).get('/profile').set(...bearer(before));
    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
  });

  it('accepts an HS256 token of the switch when its key is listed in JWT_VERIFY_SECRETS', async () => {
    const withSwitchKey = buildTestApp({
      env: { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: signing.privatePem, JWT_VERIFY_SECRETS: `hs-old:${TEST_ENV.JWT_SECRET}` },
    }).app;
    const { tokens } = await registerAndLogin(withSwitchKey);
    const before = forgeAccessToken(decodeJwt(tokens.access_token).payload, 'hs-old', { secret: TEST_ENV.JWT_SECRET });

    const res = await request(withSwitchKey).get('/profile').set(...bearer(before));
    expect({ status: res.status, user: res.body.user }).toEqual({ status: 200, user: tokens.user });
  });

  it.each([
    ['HS256 with the public key as the secret (algorithm confusion)', (kid: string, payload: Record<string, unknown>) =>
      forgeAccessToken(payload, kid, { algorithm: 'HS256', secret: signing.publicPem })],
    ['ES256 by another private key under the published kid', (kid: string, payload: Record<string, unknown>) =>
      forgeJwt({ alg: 'ES256', typ: 'at+jwt', kid }, payload, { alg: 'ES256', privateKey: p256().privateKey })],
    ['ES384 under the published kid', (kid: string, payload: Record<string, unknown>) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      return jwt.sign(payload, privateKey, { algorithm: 'ES384', header: { alg: 'ES384', typ: 'at+jwt', kid } });
    }],
  ])('rejects %s as "token invalid"', async (_name, forge) => {
    const { tokens } = await registerAndLogin(app);
    const { header, payload } = decodeJwt(tokens.access_token);
    const res = await request(app).get('/profile').set(...bearer(forge(String(header.kid), payload)));

    expect(expectError(res, 401, 'invalid_token').error_description).toBe('token invalid');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth", error="invalid_token", error_description="token invalid"');
  });
});
