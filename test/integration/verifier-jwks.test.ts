// The verifier with a JWKS URL: fetched lazily, cached, looked up again for a new kid (rate-limited), never a URL from a token.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { KeyVerifier, authErrorHandler, createVerifyToken } from '../../src/verify';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, decodeJwt, registerAndLogin } from '../helpers/fixtures';
import { es256Twin, forgeJwt } from '../helpers/forge';

interface Served {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A JWKS endpoint the test controls, counting the requests it gets. */
class KeyServer {
  requests = 0;
  answer: () => Served = () => ({ status: 200, body: '{"keys":[]}' });
  private readonly server = http.createServer((_req, res) => {
    this.requests += 1;
    const { status, body, headers } = this.answer();
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  serve(keys: unknown[]): void {
    this.answer = () => ({ status: 200, body: JSON.stringify({ keys }) });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function p256(): { privateKey: KeyObject; privatePem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, privatePem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** An ES256 auth server on the shared clock: its tokens, its published keys, and its private key. */
function es256Auth(clock: FakeClock) {
  const key = p256();
  const world = buildTestApp({ env: { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: key.privatePem }, clock });
  const jwks = world.app.services.tokens.publicJwks().keys;
  return {
    ...world,
    privateKey: key.privateKey,
    jwks,
    kid: jwks[0]!.kid,
    token: async () => (await registerAndLogin(world.app)).tokens.access_token,
  };
}

/** A token with the claims of `token`, signed by `privateKey` (low-S, as the server signs) with the given header fields. */
function resigned(token: string, privateKey: KeyObject, header: Record<string, unknown>): string {
  return forgeJwt({ alg: 'ES256', typ: 'at+jwt', ...header }, decodeJwt(token).payload, { alg: 'ES256', privateKey });
}

describe('a verifier with a JWKS URL', () => {
  const clock = new FakeClock();
  const authA = es256Auth(clock);
  const authB = es256Auth(clock);
  const keys = new KeyServer();
  let url: string;

  beforeAll(async () => {
    url = await keys.start();
  });
  afterAll(() => keys.stop());

  beforeEach(() => {
    keys.requests = 0;
    keys.serve(authA.jwks);
  });

  function verifier(options: { cooldown?: number; cacheMaxAge?: number } = {}) {
    return new KeyVerifier({ jwks: { url, ...options }, issuer: 'auth-server', audience: 'api', clock });
  }

  it('fetches nothing when created, once at the first token, and answers later tokens from the cache', async () => {
    const check = verifier();
    expect(keys.requests).toBe(0);

    for (let i = 0; i < 3; i += 1) {
      await expect(check.verifyAccess(await authA.token())).resolves.toMatchObject({ role: 'user' });
    }
    expect(keys.requests).toBe(1);
  });

  it('fetches again for a kid it lacks, so a key published after the last fetch works without waiting for cacheMaxAge', async () => {
    const check = verifier({ cooldown: 30, cacheMaxAge: 600 });
    await check.verifyAccess(await authA.token());
    keys.serve([...authA.jwks, ...authB.jwks]);
    clock.advanceSeconds(31);

    await expect(check.verifyAccess(await authB.token())).resolves.toMatchObject({ role: 'user' });
    expect(keys.requests).toBe(2);
  });

  it('within the cooldown after a fetch, refuses a kid it lacks without fetching (why new keys are published before they sign)', async () => {
    const check = verifier({ cooldown: 30 });
    await check.verifyAccess(await authA.token());
    keys.serve([...authA.jwks, ...authB.jwks]);

    await expect(check.verifyAccess(await authB.token())).rejects.toMatchObject({ description: 'token invalid' });
    expect(keys.requests).toBe(1);
  });

  it('does not fetch for made-up kids within the cooldown, and at most once after it, however many arrive at once', async () => {
    const check = verifier({ cooldown: 30 });
    await check.verifyAccess(await authA.token());
    const token = await authA.token();
    const madeUp = (n: number) => resigned(token, authA.privateKey, { kid: `made-up-${n}` });

    await expect(check.verifyAccess(madeUp(1))).rejects.toMatchObject({ code: 'invalid_token', description: 'token invalid' });
    expect(keys.requests).toBe(1);

    clock.advanceSeconds(31);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, n) => check.verifyAccess(madeUp(n))));
    expect(results.map((result) => result.status)).toEqual(Array(20).fill('rejected'));
    expect(keys.requests).toBe(2);
  });

  it('fetches the set again after cacheMaxAge, and a key removed from it stops working', async () => {
    const check = verifier({ cacheMaxAge: 600 });
    await check.verifyAccess(await authA.token());
    keys.serve(authB.jwks);
    clock.advanceSeconds(601);

    await expect(check.verifyAccess(await authA.token())).rejects.toMatchObject({ description: 'token invalid' });
    await expect(check.verifyAccess(await authB.token())).resolves.toMatchObject({ role: 'user' });
    expect(keys.requests).toBe(2);
  });

  it('keeps using the keys it has when a later fetch fails', async () => {
    const check = verifier({ cacheMaxAge: 600 });
    await check.verifyAccess(await authA.token());
    keys.answer = () => ({ status: 500, body: 'down' });
    clock.advanceSeconds(601);

    await expect(check.verifyAccess(await authA.token())).resolves.toMatchObject({ role: 'user' });
    expect(keys.requests).toBe(2);
  });

  it('ignores entries that are not ES256 public signing keys (a secret, a private key, another alg or use)', async () => {
    const secret = 'published-by-mistake-0123456789-abcdefghij';
    const leaked = p256();
    const leakedJwk = leaked.privateKey.export({ format: 'jwk' });
    const other = authB.jwks[0]!;
    keys.serve([
      { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'hs', alg: 'HS256' },
      { ...leakedJwk, kid: 'private', alg: 'ES256' },
      { ...other, kid: 'for-encryption', use: 'enc' },
      { ...other, kid: 'another-alg', alg: 'ES384' },
      { kty: 'RSA', kid: 'rsa', n: 'AQAB', e: 'AQAB' },
      'not even an object',
    ]);
    const check = verifier();
    const token = await authA.token();
    const { payload } = decodeJwt(token);
    const forged = [
      jwt.sign(payload, secret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt', kid: 'hs' } as jwt.JwtHeader }),
      resigned(token, leaked.privateKey, { kid: 'private' }),
      resigned(await authB.token(), authB.privateKey, { kid: 'for-encryption' }),
      resigned(await authB.token(), authB.privateKey, { kid: 'another-alg' }),
    ];
    for (const candidate of forged) {
      await expect(check.verifyAccess(candidate)).rejects.toMatchObject({ description: 'token invalid' });
    }
  });

  it.each([
    ['jku', (attacker: string) => ({ jku: attacker })],
    ['x5u', (attacker: string) => ({ x5u: attacker })],
  ])('refuses a token whose %s header names a key URL, and never requests that URL', async (_name, header) => {
    const attacker = new KeyServer();
    const attackerUrl = await attacker.start();
    attacker.serve(authA.jwks);
    try {
      const check = verifier();
      const token = resigned(await authA.token(), authA.privateKey, { kid: authA.kid, ...header(attackerUrl) });
      await expect(check.verifyAccess(token)).rejects.toMatchObject({ description: 'token invalid' });
      expect(attacker.requests).toBe(0);
    } finally {
      await attacker.stop();
    }
  });

  it('refuses a token that brings a key along in a jwk header (even one signed by the real key)', async () => {
    const { x, y } = p256().privateKey.export({ format: 'jwk' });
    const token = resigned(await authA.token(), authA.privateKey, { kid: authA.kid, jwk: { kty: 'EC', crv: 'P-256', x, y } });
    await expect(verifier().verifyAccess(token)).rejects.toMatchObject({ description: 'token invalid' });
  });

  it('refuses the high-S twin (r, n − s) of a genuine token, at the verifier and behind createVerifyToken', async () => {
    const token = await authA.token();
    const twin = es256Twin(token);
    await expect(verifier().verifyAccess(token)).resolves.toMatchObject({ role: 'user' });
    await expect(verifier().verifyAccess(twin)).rejects.toMatchObject({ code: 'invalid_token', description: 'token invalid' });

    const service = express();
    service.get('/me', createVerifyToken({ jwks: url, issuer: 'auth-server', audience: 'api', clock }), (req, res) => {
      res.json({ sub: req.auth!.userId });
    });
    service.use(authErrorHandler());
    const accepted = await request(service).get('/me').set(...bearer(token));
    expect({ status: accepted.status, body: accepted.body }).toEqual({ status: 200, body: { sub: decodeJwt(token).payload.sub } });
    const refused = await request(service).get('/me').set(...bearer(twin));
    expect({ status: refused.status, body: refused.body, challenge: refused.headers['www-authenticate'] }).toEqual({
      status: 401,
      body: { error: 'invalid_token', error_description: 'token invalid' },
      challenge: 'Bearer realm="auth", error="invalid_token", error_description="token invalid"',
    });
  });

  it('does not follow a redirect from the JWKS URL', async () => {
    keys.answer = () => ({ status: 302, body: '', headers: { location: url } });
    await expect(verifier().verifyAccess(await authA.token())).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('refuses a JWK Set over 64 kB', async () => {
    keys.answer = () => ({ status: 200, body: JSON.stringify({ keys: authA.jwks, padding: 'x'.repeat(70 * 1024) }) });
    await expect(verifier().verifyAccess(await authA.token())).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('a service whose JWKS cannot be fetched', () => {
  const clock = new FakeClock();
  const auth = es256Auth(clock);
  const keys = new KeyServer();
  let url: string;

  beforeAll(async () => {
    url = await keys.start();
    keys.answer = () => ({ status: 503, body: '' });
  });
  afterAll(() => keys.stop());

  it('answers 503 unavailable (not "token invalid", which would send users to log in again), retrying after the cooldown', async () => {
    const app = express();
    app.get('/me', createVerifyToken({ jwks: { url, cooldown: 30 }, issuer: 'auth-server', audience: 'api', clock }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(authErrorHandler());
    const token = await auth.token();

    const first = await request(app).get('/me').set(...bearer(token));
    expect(first.status).toBe(503);
    expect(first.headers['www-authenticate']).toBeUndefined();
    expect(first.body).toEqual({ error: 'unavailable', error_description: 'The keys to check the token cannot be fetched right now.' });
    expect((await request(app).get('/me').set(...bearer(token))).status).toBe(503);
    expect(keys.requests).toBe(1);

    keys.serve(auth.jwks);
    clock.advanceSeconds(31);
    expect((await request(app).get('/me').set(...bearer(token))).status).toBe(200);
    expect(keys.requests).toBe(2);
  });
});
