// Standard discovery (RFC 8414, OpenID Connect): the documents, and jose and express-oauth2-jwt-bearer verifying tokens given only the issuer URL.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import type * as Jose from 'jose';
import request from 'supertest';
import { DISCOVERY_PATHS, discoveryDocument, discoveryRoutes } from '../../src/http/routes/discovery-routes';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { bearer, decodeJwt, expectError, registerAndLogin } from '../helpers/fixtures';
import { forgeJwt } from '../helpers/forge';
import { TEST_ENV, testConfig } from '../helpers/test-config';

/**
 * jose 6 ships ES modules only, and ts-jest turns `import()` into `require()`, which cannot load
 * them. A function built from text keeps the real `import()`, which jest serves because `npm test`
 * runs it with --experimental-vm-modules.
 */
const importJose = new Function('return import("jose")') as () => Promise<typeof Jose>;

const AUDIENCE = 'notes-api';

function p256() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, privatePem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

interface Served extends TestApp {
  /** http://127.0.0.1:<port>: the server's JWT_ISSUER and where it listens. */
  issuer: string;
  close(): Promise<void>;
}

/** The app on a real port, its issuer that port's URL: the port is taken before the config is made. */
async function serve(env: Record<string, string>): Promise<Served> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const built = buildTestApp({ env: { JWT_ISSUER: issuer, JWT_AUDIENCE: AUDIENCE, ...env } });
  server.on('request', built.app);
  const close = () =>
    new Promise<void>((resolve) => {
      // The verifiers keep their connections alive; the test is over with them.
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { ...built, issuer, close };
}

/** How many requests the server logged for `path` (the verifiers' fetches, seen from the server). */
function requestsFor(logs: string[], path: string): number {
  return logs
    .flatMap((chunk) => chunk.split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as { req?: { method: string; path: string } })
    .filter(({ req }) => req?.method === 'GET' && req.path === path).length;
}

/** The document both paths must serve for this issuer. */
function expectedDocument(issuer: string, algorithm: 'HS256' | 'ES256') {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
    service_documentation: `${issuer}/docs`,
    response_types_supported: [],
    grant_types_supported: [],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [algorithm],
  };
}

/** A resource server guarded by express-oauth2-jwt-bearer with nothing but the issuer URL and the audience. */
function resourceServer(issuerBaseURL: string) {
  const app = express();
  app.get('/notes', auth({ issuerBaseURL, audience: AUDIENCE }), (req, res) => {
    // The library's req.auth; this project's own typing of req.auth (verifyToken's claims) wins in the compiler's eyes.
    const { payload, header } = (req as unknown as { auth: { payload: Record<string, unknown>; header: Record<string, unknown> } }).auth;
    res.json({ sub: payload.sub, sid: payload.sid, alg: header.alg });
  });
  // The library's errors carry their status and RFC 6750 challenge; answer them as JSON.
  const errors: ErrorRequestHandler = (error: { status?: number; code?: string; headers?: Record<string, string> }, _req, res, _next) => {
    res.status(error.status ?? 500).set(error.headers ?? {}).json({ error: error.code ?? 'server_error' });
  };
  app.use(errors);
  return app;
}

describe('discovery with ES256, JWT_ISSUER the URL the server listens at', () => {
  const signing = p256();
  const stranger = p256();
  let served: Served;
  let token: string;
  let refreshToken: string;
  let userId: string;

  beforeAll(async () => {
    served = await serve({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: signing.privatePem });
    const { tokens, user } = await registerAndLogin(served.app);
    token = tokens.access_token;
    refreshToken = tokens.refresh_token;
    userId = user.id;
  });

  afterAll(() => served.close());

  /** Tokens no verifier may accept, each with the server's header and claims and another key or none. */
  function forgeries(): [string, string][] {
    const { header, payload } = decodeJwt(token);
    const otherKid = { ...header, kid: 'another-key' };
    return [
      ['ES256 by another key under the same kid', forgeJwt(header, payload, { alg: 'ES256', privateKey: stranger.privateKey })],
      ['ES256 by another key under another kid', forgeJwt(otherKid, payload, { alg: 'ES256', privateKey: stranger.privateKey })],
      ['HS256 with the access-token secret', forgeJwt({ ...header, alg: 'HS256' }, payload, { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      [
        'HS256 with the public key as its secret',
        forgeJwt({ ...header, alg: 'HS256' }, payload, {
          alg: 'HS256',
          hmacKey: String(signing.publicKey.export({ type: 'spki', format: 'pem' })),
        }),
      ],
      ['the real signature over other claims', `${token.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, role: 'admin' })).toString('base64url')}.${token.split('.')[2]}`],
      ['a refresh token (HS256, the refresh secret)', refreshToken],
    ];
  }

  it('issues ES256 access tokens whose iss is the issuer URL', () => {
    const { header, payload } = decodeJwt(token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({ iss: served.issuer, aud: AUDIENCE, sub: userId });
  });

  it.each(DISCOVERY_PATHS)('GET %s describes this server, cacheable like the key set', async (path) => {
    const res = await request(served.issuer).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers.pragma).toBeUndefined();
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    // Exactly these members: nothing the server does not do (no authorization or token endpoint).
    expect(res.body).toEqual(expectedDocument(served.issuer, 'ES256'));
  });

  it('answers HEAD on both paths with the headers and no body', async () => {
    for (const path of DISCOVERY_PATHS) {
      const res = await request(served.issuer).head(path);
      expect({ path, status: res.status, cache: res.headers['cache-control'], body: res.text ?? '' }).toEqual({
        path,
        status: 200,
        cache: 'public, max-age=300',
        body: '',
      });
    }
  });

  it('points at endpoints that exist: the key set holds the signing key, introspection asks for a client, the docs answer', async () => {
    // The URLs as served, followed as a verifier would follow them.
    const document = (await request(served.issuer).get(DISCOVERY_PATHS[0])).body as ReturnType<typeof expectedDocument>;
    const jwks = await request(document.jwks_uri).get('');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: decodeJwt(token).header.kid })]);
    const introspection = await request(document.introspection_endpoint).post('').type('form').send({ token });
    expectError(introspection, 401, 'unauthorized');
    expect(introspection.headers['www-authenticate']).toBe('Basic realm="auth"');
    const docs = await request(document.service_documentation).get('');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
  });

  describe('jose (createRemoteJWKSet + jwtVerify) with what the discovery document says', () => {
    let verify: (jwt: string) => Promise<Jose.JWTVerifyResult>;

    beforeAll(async () => {
      const { createRemoteJWKSet, jwtVerify } = await importJose();
      const metadata = (await request(served.issuer).get('/.well-known/oauth-authorization-server')).body;
      const keys = createRemoteJWKSet(new URL(metadata.jwks_uri));
      const options = { issuer: metadata.issuer, audience: AUDIENCE, algorithms: metadata.id_token_signing_alg_values_supported, typ: 'at+jwt' };
      verify = (jwt) => jwtVerify(jwt, keys, options);
    });

    it('accepts an access token from /login, with its claims', async () => {
      const { payload, protectedHeader } = await verify(token);
      expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: decodeJwt(token).header.kid });
      expect(payload).toMatchObject({ iss: served.issuer, aud: AUDIENCE, sub: userId, sid: expect.any(String), role: 'user' });
    });

    it('refuses every token not signed by the published key', async () => {
      const refusals = [];
      for (const [name, forged] of forgeries()) {
        const outcome = await verify(forged).then(
          () => 'accepted',
          (error: { code?: string }) => error.code,
        );
        refusals.push([name, outcome]);
      }
      expect(refusals).toEqual([
        ['ES256 by another key under the same kid', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
        ['ES256 by another key under another kid', 'ERR_JWKS_NO_MATCHING_KEY'],
        // The document's algorithm list stops these before any key is looked up.
        ['HS256 with the access-token secret', 'ERR_JOSE_ALG_NOT_ALLOWED'],
        ['HS256 with the public key as its secret', 'ERR_JOSE_ALG_NOT_ALLOWED'],
        ['the real signature over other claims', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
        ['a refresh token (HS256, the refresh secret)', 'ERR_JOSE_ALG_NOT_ALLOWED'],
      ]);
    });

    it('refuses the HS256 forgeries without the algorithm list too: a key set never verifies a shared-secret algorithm', async () => {
      const { createRemoteJWKSet, jwtVerify } = await importJose();
      const keys = createRemoteJWKSet(new URL(`${served.issuer}/.well-known/jwks.json`));
      for (const [name, forged] of forgeries().filter(([name]) => name.startsWith('HS256'))) {
        const outcome = await jwtVerify(forged, keys, { issuer: served.issuer, audience: AUDIENCE }).then(
          () => 'accepted',
          (error: { code?: string }) => error.code,
        );
        expect({ name, outcome }).toEqual({ name, outcome: 'ERR_JOSE_NOT_SUPPORTED' });
      }
    });
  });

  describe('express-oauth2-jwt-bearer given only issuerBaseURL and audience', () => {
    it('accepts an access token from /login (200), having found the keys through discovery', async () => {
      const logs = served.logs;
      const before = requestsFor(logs, '/.well-known/openid-configuration');
      const res = await request(resourceServer(served.issuer)).get('/notes').set(...bearer(token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ sub: userId, sid: decodeJwt(token).payload.sid, alg: 'ES256' });
      // It read the OpenID Connect document first, then the key set it names.
      expect(requestsFor(logs, '/.well-known/openid-configuration')).toBe(before + 1);
      expect(requestsFor(logs, '/.well-known/jwks.json')).toBeGreaterThanOrEqual(1);
    });

    it('refuses every token not signed by the published key (401 invalid_token with its challenge)', async () => {
      const resource = resourceServer(served.issuer);
      for (const [name, forged] of forgeries()) {
        const res = await request(resource).get('/notes').set(...bearer(forged));
        expect({ name, status: res.status, body: res.body }).toEqual({ name, status: 401, body: { error: 'invalid_token' } });
        expect({ name, challenge: res.headers['www-authenticate'] }).toEqual({
          name,
          // The library adds the DPoP algorithms it would take after the Bearer challenge.
          challenge: expect.stringMatching(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"(, DPoP .*)?$/),
        });
      }
    });

    it('refuses a request without a token (401)', async () => {
      const res = await request(resourceServer(served.issuer)).get('/notes');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api"(, DPoP .*)?$/);
    });
  });
});

describe('discovery with HS256 (the default algorithm) and a URL issuer', () => {
  let served: Served;
  let token: string;

  beforeAll(async () => {
    served = await serve({});
    token = (await registerAndLogin(served.app)).tokens.access_token;
  });

  afterAll(() => served.close());

  it('serves the document with HS256, and a key set with no key: the secret is never published', async () => {
    for (const path of DISCOVERY_PATHS) {
      const res = await request(served.issuer).get(path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body: expectedDocument(served.issuer, 'HS256') });
    }
    const jwks = await request(served.issuer).get('/.well-known/jwks.json');
    expect(jwks.body).toEqual({ keys: [] });
  });

  it('leaves verifiers without the secret unable to accept its tokens (jose, express-oauth2-jwt-bearer)', async () => {
    const { createRemoteJWKSet, jwtVerify } = await importJose();
    const keys = createRemoteJWKSet(new URL(`${served.issuer}/.well-known/jwks.json`));
    const outcome = await jwtVerify(token, keys, { issuer: served.issuer, audience: AUDIENCE }).then(
      () => 'accepted',
      (error: { code?: string }) => error.code,
    );
    expect(outcome).toBe('ERR_JOSE_NOT_SUPPORTED');
    const res = await request(resourceServer(served.issuer)).get('/notes').set(...bearer(token));
    expect(res.status).toBe(401);
  });
});

describe('discovery documents under a mount prefix', () => {
  it('derives every URL from the issuer, prefix included, and keeps the issuer exactly as tokens carry it', async () => {
    for (const issuer of ['https://example.com/auth', 'https://example.com/auth/']) {
      const config = testConfig({ JWT_ISSUER: issuer, JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: p256().privatePem });
      const host = express().use('/auth', discoveryRoutes({ config }));
      const res = await request(host).get('/auth/.well-known/openid-configuration');
      expect({ issuer, status: res.status }).toEqual({ issuer, status: 200 });
      expect(res.body).toEqual({ ...expectedDocument('https://example.com/auth', 'ES256'), issuer });
      expect(discoveryDocument(config.jwt)).toEqual(res.body);
    }
  });
});

describe('discovery when JWT_ISSUER is not a discoverable URL', () => {
  const NOT_URLS = [
    ['the default, auth-server', ''],
    ['a URN', 'urn:example:auth'],
    ['another scheme', 'ftp://example.com/auth'],
    ['a query', 'https://example.com/auth?tenant=1'],
    ['a fragment', 'https://example.com/auth#x'],
    ['credentials', 'https://user:secret@example.com/auth'],
    ['white space', 'https://example.com/my auth'],
  ];

  it.each(NOT_URLS)('answers 404 not_found on both paths, to GET and POST alike, with %s', async (_what, issuer) => {
    const { app } = buildTestApp({ env: { JWT_ISSUER: issuer } });
    for (const path of DISCOVERY_PATHS) {
      for (const method of ['get', 'post'] as const) {
        const res = await request(app)[method](path);
        expectError(res, 404, 'not_found');
        expect({ path, method, cache: res.headers['cache-control'], allow: res.headers.allow }).toEqual({
          path,
          method,
          cache: 'no-store',
          allow: undefined,
        });
      }
    }
    expect(discoveryDocument(testConfig({ JWT_ISSUER: issuer }).jwt)).toBeNull();
  });
});

describe('discovery paths with another method', () => {
  const { app } = buildTestApp({ env: { JWT_ISSUER: 'https://auth.example.com' } });

  it.each(DISCOVERY_PATHS)('answers POST, PUT, PATCH and DELETE on %s with 405 and Allow: GET, HEAD, never cached', async (path) => {
    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      const res = await request(app)[method](path).set('Content-Type', 'application/json').send('{"not": json');
      // 405 before any body is read: the route sits ahead of the JSON parser, so a malformed body changes nothing.
      expectError(res, 405, 'method_not_allowed');
      expect({ method, allow: res.headers.allow, cache: res.headers['cache-control'] }).toEqual({ method, allow: 'GET, HEAD', cache: 'no-store' });
    }
  });

  it.each(DISCOVERY_PATHS)('answers OPTIONS on %s with 204 and Allow: GET, HEAD', async (path) => {
    const res = await request(app).options(path);
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.text ?? '').toBe('');
  });

  it('ignores a query string: the same document', async () => {
    const res = await request(app).get(`${DISCOVERY_PATHS[1]}?issuer=https://evil.example.com`);
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe('https://auth.example.com');
  });
});
