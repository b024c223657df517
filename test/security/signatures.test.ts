// Attacks on signatures and algorithms: every forged access token is refused at /profile, /logout and /introspect, and the victim's session survives them all.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { derivedKeyId } from '../../src/auth/keys';
import { authErrorHandler, createVerifyToken } from '../../src/verify';
import {
  auditResponses,
  claimsOf,
  expectAccessTokenRefused,
  expectMalformedBearerRefused,
  expectVictimUntouched,
  introspect,
  ResponseRecorder,
  TrapListener,
  WEAK_SECRETS,
  type Target,
} from '../helpers/attack';
import { es256Twin, forgeJwt, isHighS, jwtSegment } from '../helpers/forge';
import { TEST_ENV } from '../helpers/test-config';
import { targetOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';

// Every attack below runs on each storage backend: a forgery that got past the signature would meet the backend's session check, and the victim's session is read back from it. PGlite is left out: PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('signatures', (backend) => {
  const recorder = new ResponseRecorder();
  const trap = new TrapListener();
  let trapUrl: string;
  /** The HS256 server (the default) and an ES256 one, each with a logged-in victim. */
  let hs: Target;
  let es: Target;

  const esKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerEc384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  recorder.secret('the ES256 private key', String(esKey.privateKey.export({ format: 'jwk' }).d));
  /** The HS256 key of the switch to ES256, listed on the ES256 server for one access-token lifetime. */
  const SWITCH = { kid: 'hs-before-switch', secret: 'switch-Lq7wE3rT9yU2iO5pA8sD1fG4hJ6kZ0xC' };
  recorder.secret('the HS256 key of the switch', SWITCH.secret);

  beforeAll(async () => {
    trapUrl = await trap.start();
    hs = await targetOn(backend, recorder);
    es = await targetOn(backend, recorder, {
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: String(esKey.privateKey.export({ type: 'pkcs8', format: 'pem' })),
      JWT_VERIFY_SECRETS: `${SWITCH.kid}:${SWITCH.secret}`,
    });
  });

  afterAll(() => trap.stop());

  /** The server's own header for an access token of `t`, with `changes` over it (undefined removes a field). */
  function headerOf(t: Target, changes: Record<string, unknown> = {}): Record<string, unknown> {
    const alg = t === es ? 'ES256' : 'HS256';
    const merged: Record<string, unknown> = { alg, typ: 'at+jwt', kid: t.kid, ...changes };
    return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  }

  /** A correctly HS256-signed access token of the victim, made with the real secret (what only the server can make). */
  function genuineHs256(t: Target, claims = claimsOf(t), kid = t.kid): string {
    return forgeJwt(headerOf(t, { alg: 'HS256', kid }), claims, { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! });
  }

  function targets(): [string, () => Target][] {
    return [
      ['HS256', () => hs],
      ['ES256', () => es],
    ];
  }

  it('forges soundly: the real secret and the real claims make a token the HS256 server accepts (so every refusal below is the attack)', async () => {
    const res = await request(hs.http).get('/profile').set('Authorization', `Bearer ${genuineHs256(hs)}`);
    expect({ status: res.status, user: res.body.user }).toEqual({ status: 200, user: hs.victim.tokens.user });
  });

  describe('alg "none" in every letter case', () => {
    const spellings = Array.from({ length: 16 }, (_, bits) =>
      [...'none'].map((letter, i) => (bits & (1 << i) ? letter.toUpperCase() : letter)).join(''),
    );

    it.each(spellings)('refuses alg %j with an empty signature on the HS256 server', async (alg) => {
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { alg }), claimsOf(hs), { signature: '' }));
    });

    it.each(spellings)('refuses alg %j with an empty signature on the ES256 server', async (alg) => {
      await expectAccessTokenRefused(es, forgeJwt(headerOf(es, { alg }), claimsOf(es), { signature: '' }));
    });

    it.each(spellings)('refuses alg %j that keeps the signature of a genuine token', async (alg) => {
      const signature = hs.victim.tokens.access_token.split('.')[2]!;
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { alg }), hs.claims, { signature }));
    });
  });

  describe('HMAC with the real secret under another algorithm', () => {
    it.each(['HS384', 'HS512'] as const)('refuses %s signed with JWT_SECRET on the HS256 server', async (alg) => {
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { alg }), claimsOf(hs), { alg, hmacKey: TEST_ENV.JWT_SECRET! }));
    });

    it.each(['HS384', 'HS512'] as const)('refuses %s signed with the HS256 key of the switch (JWT_VERIFY_SECRETS) on the ES256 server', async (alg) => {
      const token = forgeJwt(headerOf(es, { alg, kid: SWITCH.kid }), claimsOf(es), { alg, hmacKey: SWITCH.secret });
      await expectAccessTokenRefused(es, token);
    });
  });

  describe('HS256 on the ES256 server: only under a key listed for the switch, never under JWT_SECRET', () => {
    const hs256 = (kid: string, hmacKey: string) => forgeJwt(headerOf(es, { alg: 'HS256', kid }), claimsOf(es), { alg: 'HS256', hmacKey });

    it('accepts HS256 signed with a JWT_VERIFY_SECRETS key under its kid (the control)', async () => {
      const token = hs256(SWITCH.kid, SWITCH.secret);
      const res = await request(es.http).get('/profile').set('Authorization', `Bearer ${token}`);
      expect({ status: res.status, user: res.body.user }).toEqual({ status: 200, user: es.victim.tokens.user });
      expect((await introspect(es, token)).body).toMatchObject({ active: true, sub: es.victim.tokens.user.id });
    });

    it.each([
      ['the kid derived from it', () => derivedKeyId(TEST_ENV.JWT_SECRET!)],
      ['the kid of the switch key', () => SWITCH.kid],
      ['the ES256 kid', () => es.kid],
    ])('refuses HS256 signed with JWT_SECRET under %s', async (_name, kid) => {
      await expectAccessTokenRefused(es, hs256(kid(), TEST_ENV.JWT_SECRET!));
    });

    it('refuses HS256 signed with JWT_SECRET under its JWT_SECRET_ID, the kid it signed with before the switch', async () => {
      const named = await targetOn(backend, recorder, {
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: String(esKey.privateKey.export({ type: 'pkcs8', format: 'pem' })),
        JWT_SECRET_ID: 'hs-2026',
      });
      const token = forgeJwt({ alg: 'HS256', typ: 'at+jwt', kid: 'hs-2026' }, claimsOf(named), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! });
      await expectAccessTokenRefused(named, token);
      await expectVictimUntouched(named);
    });
  });

  describe('key confusion: asymmetric algorithms against an HMAC key, and HMAC against a public key', () => {
    const asymmetric: [string, (t: Target) => string][] = [
      ['RS256 by an attacker RSA key', (t) => forgeJwt(headerOf(t, { alg: 'RS256' }), claimsOf(t), { alg: 'RS256', privateKey: attackerRsa.privateKey })],
      ['PS256 by an attacker RSA key', (t) => forgeJwt(headerOf(t, { alg: 'PS256' }), claimsOf(t), { alg: 'PS256', privateKey: attackerRsa.privateKey })],
      ['ES256 by an attacker P-256 key', (t) => forgeJwt(headerOf(t, { alg: 'ES256' }), claimsOf(t), { alg: 'ES256', privateKey: attackerEc.privateKey })],
      ['ES384 by an attacker P-384 key', (t) => forgeJwt(headerOf(t, { alg: 'ES384' }), claimsOf(t), { alg: 'ES384', privateKey: attackerEc384.privateKey })],
      ['an RS256 header over an HMAC-SHA256 made with JWT_SECRET', (t) => forgeJwt(headerOf(t, { alg: 'RS256' }), claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['an ES256 header over an HMAC-SHA256 made with JWT_SECRET', (t) => forgeJwt(headerOf(t, { alg: 'ES256' }), claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
    ];

    it.each(targets().flatMap(([name, t]) => asymmetric.map(([what, forge]) => [what, name, t, forge] as const)))(
      'refuses %s under the real kid on the %s server',
      async (_what, _name, t, forge) => {
        await expectAccessTokenRefused(t(), forge(t()));
      },
    );

    /** Every form the server's published public key could be fed to an HMAC in. */
    async function publicKeyForms(): Promise<[string, string | Buffer][]> {
      const jwks = await request(es.http).get('/.well-known/jwks.json');
      expect(jwks.status).toBe(200);
      const jwk = jwks.body.keys[0] as Record<string, string>;
      const key: KeyObject = createPublicKey({ key: jwk, format: 'jwk' });
      const pem = String(key.export({ type: 'spki', format: 'pem' }));
      const der = key.export({ type: 'spki', format: 'der' });
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      return [
        ['the SPKI PEM', pem],
        ['the SPKI PEM without its last newline', pem.trimEnd()],
        ['the SPKI DER bytes', der],
        ['the SPKI DER in base64', der.toString('base64')],
        ['the JWK as JSON text', JSON.stringify(jwk)],
        ['the JWK Set as served', jwks.text],
        ['the uncompressed point', point],
        ['x and y', point.subarray(1)],
        ['the x coordinate text', jwk.x!],
      ];
    }

    it('refuses HS256, HS384 and HS512 made with the published ES256 public key in every form, under its kid and under no kid', async () => {
      const forms = await publicKeyForms();
      for (const [form, secret] of forms) {
        for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
          for (const kid of [es.kid, undefined]) {
            const token = forgeJwt(headerOf(es, { alg, kid }), claimsOf(es), { alg, hmacKey: secret });
            const res = await request(es.http).get('/profile').set('Authorization', `Bearer ${token}`);
            expect({ form, alg, kid, status: res.status, body: res.body }).toEqual({
              form,
              alg,
              kid,
              status: 401,
              body: { error: 'invalid_token', error_description: 'token invalid' },
            });
          }
        }
      }
      expect(forms).toHaveLength(9);
    });

    it('refuses HS256 made with the published public key at /logout and /introspect too', async () => {
      const [, pem] = (await publicKeyForms())[0]!;
      await expectAccessTokenRefused(es, forgeJwt(headerOf(es, { alg: 'HS256' }), claimsOf(es), { alg: 'HS256', hmacKey: pem }));
    });
  });

  describe('the ECDSA "psychic signature" (r = s = 0) and other impossible ES256 signatures', () => {
    const n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');
    const signatures: [string, Buffer][] = [
      ['r = s = 0 (64 zero bytes)', Buffer.alloc(64)],
      ['r = s = 0 in DER', Buffer.from('3006020100020100', 'hex')],
      ['r = s = n, the curve order', Buffer.concat([n, n])],
      ['r = 0, s = n', Buffer.concat([Buffer.alloc(32), n])],
      ['r = s = 1', Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.alloc(31), Buffer.from([1])])],
      ['64 bytes of 0xff', Buffer.alloc(64, 0xff)],
      ['one byte', Buffer.from([0])],
      ['63 bytes of a real signature', Buffer.alloc(63, 7)],
      ['65 bytes', Buffer.alloc(65, 7)],
      ['128 bytes', Buffer.alloc(128, 7)],
    ];

    it.each(signatures)('refuses an ES256 token whose signature is %s', async (_what, signature) => {
      await expectAccessTokenRefused(es, forgeJwt(headerOf(es), claimsOf(es), { signature: signature.toString('base64url') }));
    });

    it('refuses the real ES256 signature moved onto tampered claims', async () => {
      const signature = es.victim.tokens.access_token.split('.')[2]!;
      await expectAccessTokenRefused(es, forgeJwt(headerOf(es), { ...es.claims, role: 'admin' }, { signature }));
    });
  });

  describe('empty, truncated, altered and foreign signatures', () => {
    const forgeries: [string, (t: Target) => string][] = [
      ['an empty signature', (t) => forgeJwt(headerOf(t), claimsOf(t), { signature: '' })],
      ['a signature truncated to 20 characters', (t) => genuineHs256(t).slice(0, -23)],
      ['the last signature character changed', (t) => {
        const token = genuineHs256(t);
        return `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
      }],
      ['the signature doubled', (t) => {
        const token = genuineHs256(t);
        return `${token}${token.split('.')[2]}`;
      }],
      ['a signature by a random 32-byte key', (t) => forgeJwt(headerOf(t), claimsOf(t), { alg: 'HS256', hmacKey: Buffer.alloc(32, 9) })],
      ["a signature by another server's real secret", (t) => forgeJwt(headerOf(t), claimsOf(t), { alg: 'HS256', hmacKey: 'another-server-Qm4nZ7xW2vB8cR5tY1uL3kJ6hG9fD0sA' })],
      ['a signature by JWT_SECRET with one more byte', (t) => forgeJwt(headerOf(t), claimsOf(t), { alg: 'HS256', hmacKey: `${TEST_ENV.JWT_SECRET}x` })],
      ['a signature by JWT_SECRET in upper case', (t) => forgeJwt(headerOf(t), claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET!.toUpperCase() })],
    ];

    it.each(forgeries)('refuses %s', async (_what, forge) => {
      await expectAccessTokenRefused(hs, forge(hs));
    });
  });

  describe('the empty key and well-known weak secrets', () => {
    it('refuses HS256 made with the empty key, under the real kid and under no kid', async () => {
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs), claimsOf(hs), { alg: 'HS256', hmacKey: '' }));
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { kid: undefined }), claimsOf(hs), { alg: 'HS256', hmacKey: '' }));
    });

    it.each(WEAK_SECRETS)('refuses HS256 made with %j, under the real kid and under the kid that secret would have', async (secret) => {
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs), claimsOf(hs), { alg: 'HS256', hmacKey: secret }));
      const ownKid = forgeJwt(headerOf(hs, { kid: derivedKeyId(secret) }), claimsOf(hs), { alg: 'HS256', hmacKey: secret });
      await expectAccessTokenRefused(hs, ownKid);
    });

    it('refuses the weak secrets on the ES256 server too, under its kid', async () => {
      for (const secret of ['', ...WEAK_SECRETS]) {
        const token = forgeJwt(headerOf(es, { alg: 'HS256' }), claimsOf(es), { alg: 'HS256', hmacKey: secret });
        const res = await request(es.http).get('/profile').set('Authorization', `Bearer ${token}`);
        expect({ secret, status: res.status, error: res.body.error }).toEqual({ secret, status: 401, error: 'invalid_token' });
      }
    });
  });

  describe('tampered payloads and headers under a genuine signature', () => {
    /** The victim's genuine token with its payload or header swapped; the signature stays the original one. */
    function tampered(t: Target, payload: unknown, header: unknown = headerOf(t)): string {
      const signature = t.victim.tokens.access_token.split('.')[2]!;
      return forgeJwt(header, payload, { signature });
    }

    const tamperings: [string, (t: Target) => string][] = [
      ['role raised to admin', (t) => tampered(t, { ...t.claims, role: 'admin' })],
      ['sub set to another id', (t) => tampered(t, { ...t.claims, sub: 'someone-else' })],
      ['sid set to another session', (t) => tampered(t, { ...t.claims, sid: 'another-session' })],
      ['exp pushed a year ahead', (t) => tampered(t, { ...t.claims, exp: (t.claims.exp as number) + 365 * 86400 })],
      ['a claim added', (t) => tampered(t, { ...t.claims, admin: true })],
      ['the same claims in another key order', (t) => tampered(t, Object.fromEntries(Object.entries(t.claims).reverse()))],
      ['the same claims with spaces in the JSON', (t) => tampered(t, JSON.stringify(t.claims, null, 1))],
      ['the header kid changed', (t) => tampered(t, t.claims, headerOf(t, { kid: 'another-kid' }))],
      ['the header typ dropped', (t) => tampered(t, t.claims, headerOf(t, { typ: undefined }))],
      ['the header with spaces in its JSON', (t) => tampered(t, t.claims, JSON.stringify(headerOf(t), null, 1))],
    ];

    it.each(targets().flatMap(([name, t]) => tamperings.map(([what, forge]) => [what, name, t, forge] as const)))(
      'refuses %s on the %s server',
      async (_what, _name, t, forge) => {
        await expectAccessTokenRefused(t(), forge(t()));
      },
    );

    it('grants no admin route to a payload tampered to role admin', async () => {
      const signature = hs.victim.tokens.access_token.split('.')[2]!;
      const token = forgeJwt(headerOf(hs), { ...hs.claims, role: 'admin' }, { signature });
      const res = await request(hs.http).get('/admin/users').set('Authorization', `Bearer ${token}`);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { error: 'invalid_token', error_description: 'token invalid' } });
    });
  });

  describe('malleable encodings', () => {
    /** A genuine token of `t` whose signature contains "-" or "_" (so a standard-base64 spelling differs). */
    function withUrlSafeCharacters(t: Target, sign: (claims: Record<string, unknown>) => string): string {
      for (let i = 0; ; i += 1) {
        const token = sign(claimsOf(t, { jti: `forged-${i}` }));
        if (/[-_]/.test(token.split('.')[2]!)) return token;
      }
    }

    /** Every other spelling of the signature's last character that decodes to the same bytes. */
    function sameBytesOtherSpellings(token: string): string[] {
      const [head, payload, signature] = token.split('.') as [string, string, string];
      const bytes = Buffer.from(signature, 'base64url');
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return [...alphabet]
        .map((char) => `${signature.slice(0, -1)}${char}`)
        .filter((spelling) => spelling !== signature && Buffer.from(spelling, 'base64url').equals(bytes))
        .map((spelling) => `${head}.${payload}.${spelling}`);
    }

    const esGenuine = (claims: Record<string, unknown>) => forgeJwt(headerOf(es), claims, { alg: 'ES256', privateKey: esKey.privateKey });

    it('refuses an HS256 signature whose last character is spelled with other unused bits (the same bytes)', async () => {
      const spellings = sameBytesOtherSpellings(genuineHs256(hs));
      expect(spellings.length).toBeGreaterThan(0);
      for (const token of spellings) await expectAccessTokenRefused(hs, token);
    });

    it('refuses an ES256 signature whose last character is spelled with other unused bits (regression: was accepted)', async () => {
      const genuine = esGenuine(claimsOf(es));
      expect((await request(es.http).get('/profile').set('Authorization', `Bearer ${genuine}`)).status).toBe(200);
      const spellings = sameBytesOtherSpellings(genuine);
      expect(spellings.length).toBe(15);
      for (const token of spellings) await expectAccessTokenRefused(es, token);
    });

    it('makes the standalone verifier (auth-server/verify, keys from the JWKS) refuse those spellings and the high-S twin too', async () => {
      const jwks = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(es.app.services.tokens.publicJwks()));
      });
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
        const service = express();
        service.get('/notes', createVerifyToken({ jwks: url, issuer: 'auth-server', audience: 'api' }), (req, res) => {
          res.json({ owner: req.auth!.userId });
        });
        service.use(authErrorHandler());
        const genuine = esGenuine(claimsOf(es));
        expect((await request(service).get('/notes').set('Authorization', `Bearer ${genuine}`)).body).toEqual({ owner: es.victim.tokens.user.id });
        for (const token of [...sameBytesOtherSpellings(genuine), es256Twin(genuine)]) {
          const res = await request(service).get('/notes').set('Authorization', `Bearer ${token}`);
          expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { error: 'invalid_token', error_description: 'token invalid' } });
        }
      } finally {
        jwks.closeAllConnections();
        await new Promise<void>((resolve) => jwks.close(() => resolve()));
      }
    });

    it('refuses the ECDSA twin (r, n − s) of a genuine ES256 token from a login, which any JOSE library verifies (regression: was accepted)', async () => {
      const login = await request(es.http).post('/login').send({ email: es.victim.email, password: es.victim.password });
      const genuine = login.body.access_token as string;
      const twin = es256Twin(genuine);
      // The twin is a valid ECDSA signature of the same bytes: only the low-S rule tells it apart.
      expect(jwt.verify(twin, esKey.publicKey, { algorithms: ['ES256'] })).toMatchObject({ sub: es.victim.tokens.user.id });
      expect([isHighS(genuine), isHighS(twin)]).toEqual([false, true]);

      await expectAccessTokenRefused(es, twin);
      const res = await request(es.http).get('/profile').set('Authorization', `Bearer ${genuine}`);
      expect({ status: res.status, user: res.body.user }).toEqual({ status: 200, user: es.victim.tokens.user });
      expect((await request(es.http).post('/logout').send({ refresh_token: login.body.refresh_token })).status).toBe(204);
    });

    it('signs every ES256 access token in low-S form (32 refreshes in a row: a random s is high half the time)', async () => {
      const login = await request(es.http).post('/login').send({ email: es.victim.email, password: es.victim.password });
      let refreshToken = login.body.refresh_token as string;
      const accessTokens = [login.body.access_token as string];
      for (let i = 0; i < 32; i += 1) {
        const res = await request(es.http).post('/refresh').send({ refresh_token: refreshToken });
        expect(res.status).toBe(200);
        refreshToken = res.body.refresh_token;
        accessTokens.push(res.body.access_token);
      }
      expect(accessTokens.filter(isHighS)).toEqual([]);
      expect((await request(es.http).get('/profile').set('Authorization', `Bearer ${accessTokens.at(-1)}`)).status).toBe(200);
      expect((await request(es.http).post('/logout').send({ refresh_token: refreshToken })).status).toBe(204);
    });

    it.each(targets())('refuses the signature in standard base64 ("+" and "/") on the %s server', async (_name, t) => {
      const token = t() === es ? withUrlSafeCharacters(es, esGenuine) : withUrlSafeCharacters(hs, (claims) => genuineHs256(hs, claims));
      const [head, payload, signature] = token.split('.');
      await expectAccessTokenRefused(t(), `${head}.${payload}.${signature!.replace(/-/g, '+').replace(/_/g, '/')}`);
    });

    it.each(targets())('refuses a signature with "=" padding on the %s server', async (_name, t) => {
      const token = t() === es ? esGenuine(claimsOf(es)) : genuineHs256(hs);
      await expectAccessTokenRefused(t(), `${token}=`);
      await expectAccessTokenRefused(t(), `${token}==`);
    });

    const segmentCounts: [string, (token: string) => string][] = [
      ['one segment', (token) => token.split('.')[0]!],
      ['two segments', (token) => token.split('.').slice(0, 2).join('.')],
      ['four segments', (token) => `${token}.${token.split('.')[2]}`],
      ['five segments (a JWE shape)', (token) => `${token}.AAAA.BBBB`],
      ['a leading dot', (token) => `.${token}`],
      ['a trailing dot', (token) => `${token}.`],
      ['an empty header segment', (token) => `.${token.split('.').slice(1).join('.')}`],
      ['an empty payload segment', (token) => token.replace(/\.[^.]+\./, '..')],
      ['only dots', () => '..'],
    ];

    it.each(segmentCounts)('refuses a genuine token cut or padded to %s', async (_what, change) => {
      await expectAccessTokenRefused(hs, change(genuineHs256(hs)));
    });

    const oddCharacters: [string, (token: string) => string][] = [
      ['a space inside', (token) => token.replace('.', ' .')],
      ['a tab inside', (token) => token.replace('.', '\t.')],
      ['"=" padding after the header', (token) => token.replace('.', '=.')],
      ['a percent-encoded dot', (token) => token.replace('.', '%2E')],
      ['a Latin-1 letter', (token) => `${token}é`],
      ['a quote', (token) => `"${token}"`],
      ['a comma and a second token', (token) => `${token},${token}`],
    ];

    it.each(oddCharacters)('refuses a genuine token with %s (400: not a Bearer token at all)', async (_what, change) => {
      await expectMalformedBearerRefused(hs, change(genuineHs256(hs)));
    });

    const oddSegments: [string, (t: Target) => string][] = [
      ['a header in standard base64 with "+"', (t) => {
        const header = Buffer.from(JSON.stringify({ ...headerOf(t), pad: '>>>?' })).toString('base64').replace(/=+$/, '');
        return `${header}.${genuineHs256(t).split('.').slice(1).join('.')}`;
      }],
      ['a header that is not JSON', (t) => `${jwtSegment('not json')}.${genuineHs256(t).split('.').slice(1).join('.')}`],
      ['a header that is JSON null', (t) => forgeJwt('null', claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['a header that is a JSON array', (t) => forgeJwt([headerOf(t)], claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['a header with a byte-order mark', (t) => forgeJwt(`\uFEFF${JSON.stringify(headerOf(t))}`, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['a payload of random bytes', (t) => `${jwtSegment(headerOf(t))}.${Buffer.alloc(40, 0xfe).toString('base64url')}.${'A'.repeat(43)}`],
      ['a nested JWT as the payload (cty: JWT)', (t) => forgeJwt(headerOf(t, { cty: 'JWT' }), genuineHs256(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['duplicate "alg" keys ending in "none", unsigned', (t) =>
        forgeJwt(`{"alg":"HS256","typ":"at+jwt","kid":"${t.kid}","alg":"none"}`, claimsOf(t), { signature: '' })],
      ['duplicate "alg" keys ending in "HS256", unsigned', (t) =>
        forgeJwt(`{"alg":"none","typ":"at+jwt","kid":"${t.kid}","alg":"HS256"}`, claimsOf(t), { signature: '' })],
      ['8 kB of well-formed base64url', () => `${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(180)}`],
    ];

    it.each(oddSegments)('refuses %s', async (_what, forge) => {
      await expectAccessTokenRefused(hs, forge(hs));
    });
  });

  describe('keys and key URLs named inside the token', () => {
    const attackerJwk = { ...attackerEc.publicKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' };
    const attackerRsaJwk = attackerRsa.publicKey.export({ format: 'jwk' });
    const signedByAttacker = (t: Target, header: Record<string, unknown>) =>
      forgeJwt(headerOf(t, { alg: 'ES256', ...header }), claimsOf(t), { alg: 'ES256', privateKey: attackerEc.privateKey });

    const forgeries: [string, (t: Target) => string][] = [
      ['an embedded jwk of the attacker, under the real kid', (t) => signedByAttacker(t, { jwk: attackerJwk })],
      ['an embedded jwk of the attacker, under its own kid', (t) => signedByAttacker(t, { jwk: { ...attackerJwk, kid: 'attacker' }, kid: 'attacker' })],
      ['an embedded jwk of the attacker, without kid', (t) => signedByAttacker(t, { jwk: attackerJwk, kid: undefined })],
      ['an embedded RSA jwk with RS256', (t) =>
        forgeJwt(headerOf(t, { alg: 'RS256', jwk: attackerRsaJwk }), claimsOf(t), { alg: 'RS256', privateKey: attackerRsa.privateKey })],
      ['a jku at a listener, under the real kid', (t) => signedByAttacker(t, { jku: `${trapUrl}/jwks.json` })],
      ['a jku at a listener, under an unknown kid', (t) => signedByAttacker(t, { jku: `${trapUrl}/jwks.json`, kid: 'attacker' })],
      ['an x5u at a listener', (t) => signedByAttacker(t, { x5u: `${trapUrl}/cert.pem`, kid: 'attacker' })],
      ['an x5c certificate chain', (t) => signedByAttacker(t, { x5c: [Buffer.alloc(300, 1).toString('base64')], kid: undefined })],
      ['a jku with the real HS256 signature', (t) => genuineHs256(t, claimsOf(t)).replace(/^[^.]+/, jwtSegment(headerOf(t, { alg: 'HS256', jku: `${trapUrl}/k` })))],
    ];

    it.each(targets().flatMap(([name, t]) => forgeries.map(([what, forge]) => [what, name, t, forge] as const)))(
      'refuses %s on the %s server',
      async (_what, _name, t, forge) => {
        await expectAccessTokenRefused(t(), forge(t()));
      },
    );

    it('refuses a genuinely signed token that merely carries a jku (HS256, the real secret): no key URL is ever honoured', async () => {
      const token = forgeJwt(headerOf(hs, { jku: `${trapUrl}/jwks.json` }), claimsOf(hs), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! });
      await expectAccessTokenRefused(hs, token);
    });
  });

  describe('kid injection', () => {
    const marker = path.join(tmpdir(), `kid-injection-${process.pid}-${Date.now()}`);
    afterAll(() => rmSync(marker, { force: true }));

    const kids: [string, unknown][] = [
      ['path traversal to /dev/null', '../../../../../../../../dev/null'],
      ['the absolute path /dev/null', '/dev/null'],
      ['path traversal to /etc/passwd', '../../../../../../etc/passwd'],
      ['path traversal to the process environment', '../../../../proc/self/environ'],
      ['path traversal to the source', '../../src/config.ts'],
      ['SQL tautology', "' OR '1'='1"],
      ['SQL UNION', "x' UNION SELECT 'secret' -- "],
      ['SQL stacked query', '1; DROP TABLE keys; --'],
      ['shell $()', `$(touch ${marker})`],
      ['shell backticks', `\`touch ${marker}\``],
      ['shell pipe', `x | touch ${marker}`],
      ['shell semicolon', `x; touch ${marker}`],
      ['a NUL byte', 'kid\u0000'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['toString', 'toString'],
      ['hasOwnProperty', 'hasOwnProperty'],
      ['a NoSQL operator object', { $ne: null }],
      ['an array holding the real kid', ['REAL']],
      ['a number', 0],
      ['null', null],
      ['true', true],
      ['4000 characters', 'k'.repeat(4000)],
    ];

    it.each(kids)('refuses a kid of %s, signed with the empty key and with the real secret', async (_what, kid) => {
      const value = Array.isArray(kid) ? [hs.kid] : kid;
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { kid: value }), claimsOf(hs), { alg: 'HS256', hmacKey: '' }));
      await expectAccessTokenRefused(hs, forgeJwt(headerOf(hs, { kid: value }), claimsOf(hs), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! }));
    });

    it('ran no shell command a kid held', () => {
      expect(existsSync(marker)).toBe(false);
    });
  });

  describe('crit', () => {
    const crits: [string, Record<string, unknown>][] = [
      ['crit naming an unknown parameter', { crit: ['x-attacker'], 'x-attacker': true }],
      ['crit naming exp', { crit: ['exp'] }],
      ['crit naming b64 with b64 false (RFC 7797)', { crit: ['b64'], b64: false }],
      ['an empty crit list', { crit: [] }],
      ['crit as a string', { crit: 'x-attacker' }],
    ];

    it.each(crits)('refuses %s, even signed with the real secret', async (_what, header) => {
      const token = forgeJwt(headerOf(hs, header), claimsOf(hs), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! });
      await expectAccessTokenRefused(hs, token);
    });
  });

  describe('after every attack', () => {
    it('the listeners named by jku and x5u received nothing', async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(trap.hits).toEqual([]);
    });

    it.each(targets())("the %s victim's session is untouched and their token still works everywhere", async (_name, t) => {
      await expectVictimUntouched(t());
      const res = await introspect(t(), t().victim.tokens.access_token);
      expect(res.body).toMatchObject({ active: true, sub: t().victim.tokens.user.id });
    });
  });

  auditResponses(recorder, { atLeast: 500 });
}, { pglite: 'never' });
