// Two processes: the auth server issues tokens, the example notes service (examples/notes-service) accepts them on its own.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, killStartedChildren, requestJson, spawnTs, type JsonResponse } from '../helpers/child-process';
import { decodeJwt } from '../helpers/fixtures';
import { forgeAccessToken } from '../helpers/forge';

const PASSWORD = 'correct horse battery staple';
const SECRETS = {
  JWT_SECRET: 'notes-e2e-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'notes-e2e-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
};
const KID = 'notes-e2e-1';
const INTROSPECTION_CLIENT = 'notes:intro-e2e-Zp4mQ8vB2nX6cW1rT9yK3hL7jF5dS0gA';
/** Run examples against src/ through the package's "auth-server-source" export condition (no build needed). */
const FROM_SOURCE = { NODE_OPTIONS: '--conditions=auth-server-source' };

async function startAuthServer(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const child = spawnTs('src/server.ts', {
    isolateConfig: true,
    env: { PORT: String(port), BCRYPT_COST: '10', INTROSPECTION_CLIENTS: INTROSPECTION_CLIENT, ...env },
  });
  await child.waitForOutput(/"msg":"listening on /);
  return port;
}

async function startNotesService(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const child = spawnTs('examples/notes-service/server.ts', { env: { PORT: String(port), ...FROM_SOURCE, ...env } });
  await child.waitForOutput(/notes service listening on /);
  return port;
}

/** Registers a new user on the auth server and logs in: the access token. */
async function loginOn(authPort: number, email: string): Promise<string> {
  const registered = await requestJson(authPort, 'POST', '/register', { body: { email, password: PASSWORD } });
  expect(registered.status).toBe(201);
  const login = await requestJson(authPort, 'POST', '/login', { body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  return (login.body as { access_token: string }).access_token;
}

function withBearer(token: string) {
  return { headers: { Authorization: `Bearer ${token}` } };
}

/** The RFC 6750 refusal: 401, the challenge, and the same description in the JSON body. */
function expectRefused(res: JsonResponse, description: string): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe(
    `Bearer realm="auth", error="invalid_token", error_description="${description}"`,
  );
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.body).toEqual({ error: 'invalid_token', error_description: description });
}

/** The token's payload with `changes`, re-signed with `secret`: what only a holder of the key can make. */
function reSigned(token: string, changes: Record<string, unknown>, secret: string): string {
  const { header, payload } = decodeJwt(token);
  return forgeAccessToken({ ...payload, ...changes }, String(header.kid), { secret });
}

afterAll(() => killStartedChildren());

describe('the notes service with the shared HS256 key', () => {
  let authPort: number;
  let notesPort: number;
  let strictNotesPort: number;

  beforeAll(async () => {
    authPort = await startAuthServer({ ...SECRETS, JWT_SECRET_ID: KID });
    const shared = { AUTH_KEYS: `${KID}:${SECRETS.JWT_SECRET}` };
    [notesPort, strictNotesPort] = await Promise.all([
      startNotesService(shared),
      startNotesService({
        ...shared,
        AUTH_INTROSPECT_URL: `http://127.0.0.1:${authPort}/introspect`,
        AUTH_INTROSPECT_CLIENT: INTROSPECTION_CLIENT,
      }),
    ]);
  });

  it('accepts a token from a login on the auth server, and knows the user by its sub', async () => {
    const token = await loginOn(authPort, 'notes.ann@example.com');
    const { payload } = decodeJwt(token);

    const created = await requestJson(notesPort, 'POST', '/notes', { ...withBearer(token), body: { text: 'buy milk' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ note: { id: 1, owner: payload.sub, text: 'buy milk' } });

    const listed = await requestJson(notesPort, 'GET', '/notes', withBearer(token));
    expect(listed.status).toBe(200);
    expect(listed.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(listed.body).toEqual({ notes: [{ id: 1, owner: payload.sub, text: 'buy milk' }] });
  });

  it('answers 401 with the realm-only challenge without a token', async () => {
    const res = await requestJson(notesPort, 'GET', '/notes');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="auth"');
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Authentication is required.' });
  });

  it('rejects a tampered token (role changed to admin, signature kept) as "token invalid"', async () => {
    const token = await loginOn(authPort, 'notes.tamper@example.com');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${signature}`;

    expectRefused(await requestJson(notesPort, 'GET', '/admin/notes', withBearer(tampered)), 'token invalid');
  });

  it('rejects an expired token as "token expired" (forged with the shared key and a past exp)', async () => {
    const token = await loginOn(authPort, 'notes.expired@example.com');
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = reSigned(token, { iat: past - 900, exp: past }, SECRETS.JWT_SECRET);

    expectRefused(await requestJson(notesPort, 'GET', '/notes', withBearer(expired)), 'token expired');
  });

  it('rejects a token for another audience as "token invalid"', async () => {
    const token = await loginOn(authPort, 'notes.audience@example.com');
    const elsewhere = reSigned(token, { aud: 'billing' }, SECRETS.JWT_SECRET);

    expectRefused(await requestJson(notesPort, 'GET', '/notes', withBearer(elsewhere)), 'token invalid');
  });

  it('rejects a token signed with another key under the same kid as "token invalid"', async () => {
    const token = await loginOn(authPort, 'notes.otherkey@example.com');
    const forged = reSigned(token, {}, 'someone-elses-secret-0123456789-abcdefghij');

    expectRefused(await requestJson(notesPort, 'GET', '/notes', withBearer(forged)), 'token invalid');
  });

  it("answers 403 insufficient_scope with its challenge to a user on the service's admin route", async () => {
    const token = await loginOn(authPort, 'notes.user@example.com');
    const res = await requestJson(notesPort, 'GET', '/admin/notes', withBearer(token));

    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="auth", error="insufficient_scope", error_description="Your role does not allow this."',
    );
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'Your role does not allow this.' });
  });

  it('after logout, keeps accepting the token without a revocation check, and refuses it with one', async () => {
    const token = await loginOn(authPort, 'notes.logout@example.com');
    expect((await requestJson(strictNotesPort, 'GET', '/notes', withBearer(token))).status).toBe(200);

    const logout = await requestJson(authPort, 'POST', '/logout', withBearer(token));
    expect(logout.status).toBe(204);

    // The documented trade-off: signature and exp alone cannot know the session has ended.
    const trusting = await requestJson(notesPort, 'GET', '/notes', withBearer(token));
    expect(trusting.status).toBe(200);
    expectRefused(await requestJson(strictNotesPort, 'GET', '/notes', withBearer(token)), 'token revoked');
  });
});

describe('the notes service with the JWKS of an ES256 auth server', () => {
  let authPort: number;
  let notesPort: number;
  let publicPem: string;
  let keyDir: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    publicPem = String(publicKey.export({ type: 'spki', format: 'pem' }));
    keyDir = mkdtempSync(path.join(tmpdir(), 'auth-es256-'));
    const keyFile = path.join(keyDir, 'access-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

    authPort = await startAuthServer({ JWT_REFRESH_SECRET: SECRETS.JWT_REFRESH_SECRET, JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: keyFile });
    notesPort = await startNotesService({ AUTH_JWKS_URL: `http://127.0.0.1:${authPort}/.well-known/jwks.json` });
  });

  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

  it('accepts an ES256 token from a login, checked with the published public key', async () => {
    const token = await loginOn(authPort, 'jwks.ann@example.com');
    const { header } = decodeJwt(token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });

    const jwks = await requestJson(authPort, 'GET', '/.well-known/jwks.json');
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');
    expect(jwks.body).toEqual({
      keys: [{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: header.kid, alg: 'ES256', use: 'sig' }],
    });

    const res = await requestJson(notesPort, 'GET', '/notes', withBearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ notes: [] });
  });

  it('rejects a tampered ES256 token as "token invalid"', async () => {
    const token = await loginOn(authPort, 'jwks.tamper@example.com');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;

    expectRefused(await requestJson(notesPort, 'GET', '/notes', withBearer(tampered)), 'token invalid');
  });

  it('rejects an HS256 token signed with the public key as its secret (algorithm confusion)', async () => {
    const token = await loginOn(authPort, 'jwks.confusion@example.com');
    const { header, payload } = decodeJwt(token);
    const confused = forgeAccessToken(payload, String(header.kid), { algorithm: 'HS256', secret: publicPem });

    expectRefused(await requestJson(notesPort, 'GET', '/notes', withBearer(confused)), 'token invalid');
  });
});
