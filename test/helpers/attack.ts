// The attacker's side of test/security/: a recorder of every response, a victim to attack, and the audit every answer must pass.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { ERROR_TABLE, type ErrorCode } from '../../src/errors';
import type { Stores } from '../../src/stores/types';
import { buildTestApp, type TestApp } from './build-app';
import type { FakeClock } from './fake-clock';
import { PASSWORD, registerAndLogin, type TokenResponseBody } from './fixtures';
import { accessTokenParts } from './forge';
import { INTERNALS } from './no-leak';
import { TEST_ENV } from './test-config';

/** The one introspection client of every target: POST /introspect is a third door for tokens. */
export const CLIENT = { id: 'attack-suite', secret: 'attack-Vn3xQ8pL2wR7tY5uI1oK9jH4gF6dS0aZ' };

/** Secrets from tutorials, docs, boilerplates and cracking word lists: a token signed with one must never pass. */
export const WEAK_SECRETS = [
  'secret',
  'Secret',
  'password',
  'changeme',
  'change-me',
  '123456',
  'jwt',
  'jwt_secret',
  'jwtsecret',
  'JWT_SECRET',
  'secretkey',
  'secret-key',
  'your-secret-key',
  'your_jwt_secret',
  'your-256-bit-secret',
  'a-string-secret-at-least-256-bits-long',
  'your-super-secret-jwt-token-with-at-least-32-characters-long',
  'keyboard cat',
  'shhhhh',
  'mysecret',
  'test',
  'key',
  'null',
  'undefined',
  'auth-server',
  'api',
  'replace-with-a-random-string-of-at-least-32-bytes-access',
  'replace-with-a-random-string-of-at-least-32-bytes-refresh',
];

/** A password no attack may ever set: lifecycleDoors() offers it as the new one. */
const UNSETTABLE_PASSWORD = 'a password no refused token may set';

export interface RecordedResponse {
  method: string;
  url: string;
  origin: string | undefined;
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/**
 * Sees every response the app sends, as the server wrote it (after the app, before the wire), so
 * that one audit at the end of a file covers every answer of every attack in it.
 */
export class ResponseRecorder {
  readonly responses: RecordedResponse[] = [];
  private readonly secrets = new Map<string, string>([
    ['JWT_SECRET', TEST_ENV.JWT_SECRET!],
    ['JWT_REFRESH_SECRET', TEST_ENV.JWT_REFRESH_SECRET!],
    ['the introspection client secret', CLIENT.secret],
    ['the password of every test user', PASSWORD],
    ['the new password lifecycleDoors() offers', UNSETTABLE_PASSWORD],
  ]);

  /** Adds a value no response may ever contain. */
  secret(name: string, value: string): void {
    this.secrets.set(name, value);
  }

  secretEntries(): [string, string][] {
    return [...this.secrets];
  }

  /** The app, recorded: a request listener that every helper (supertest, rawRequest, fixtures) accepts as the app. */
  wrap(app: AuthApp): AuthApp {
    const listener: http.RequestListener = (req, res) => {
      // Captured now: routers mounted on a prefix rewrite req.url while they run.
      const method = req.method ?? '';
      const url = req.url ?? '';
      const chunks: Buffer[] = [];
      const keep = (chunk: unknown, encoding?: unknown) => {
        if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
        else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
      };
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        keep(chunk, rest[0]);
        return write(chunk, ...rest);
      }) as typeof res.write;
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (typeof chunk !== 'function') keep(chunk, rest[0]);
        return end(chunk, ...rest);
      }) as typeof res.end;
      // 'close' comes after 'finish', and also when the client hangs up before 'finish' could.
      res.once('close', () => {
        // The client hung up before any answer went out (a fuzzed request may): there is no response to audit,
        // only the defaults a response starts with (status 200), which no client saw.
        if (!res.headersSent) return;
        this.responses.push({
          method,
          url,
          origin: req.headers.origin,
          status: res.statusCode,
          headers: res.getHeaders(),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      app(req, res);
    };
    const recorded = Object.assign(listener, {
      services: app.services,
      listen: (...args: unknown[]) => http.createServer(listener).listen(...(args as [number, string, () => void])),
    });
    return recorded as unknown as AuthApp;
  }
}

export interface Target extends TestApp {
  /** The app behind the recorder: send every attack here. */
  http: AuthApp;
  victim: { email: string; password: string; tokens: TokenResponseBody };
  /** The kid and claims of the victim's access token: the raw material of forgeries. */
  kid: string;
  claims: Record<string, unknown>;
  nowSec(): number;
}

/** A server with an introspection client and one logged-in victim, every response recorded. */
export async function target(
  recorder: ResponseRecorder,
  env: Record<string, string> = {},
  options: { stores?: Stores; clock?: FakeClock } = {},
): Promise<Target> {
  const world = buildTestApp({ env: { INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}`, ...env }, ...options });
  const app = recorder.wrap(world.app);
  const { email, password, tokens } = await registerAndLogin(app);
  const { kid, claims } = accessTokenParts(tokens.access_token);
  return {
    ...world,
    http: app,
    victim: { email, password, tokens },
    kid,
    claims,
    nowSec: () => Math.floor(world.clock.now() / 1000),
  };
}

/** The victim's claims, freshly issued, with `changes` applied (undefined removes a claim). */
export function claimsOf(t: Target, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const now = t.nowSec();
  const merged: Record<string, unknown> = { ...t.claims, jti: 'forged-jti', iat: now, exp: now + 900, ...changes };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

export function introspect(t: Target, token: string) {
  return request(t.http).post('/introspect').auth(CLIENT.id, CLIENT.secret).type('form').send({ token });
}

function challenge(code: string, description: string): string {
  return `Bearer realm="auth", error="${code}", error_description="${description.replace(/["\\]/g, '')}"`;
}

/** Status, body and challenge of a refusal, as one object so a failure shows all three. */
function refusal(res: request.Response) {
  return {
    status: res.status,
    type: res.headers['content-type'],
    body: res.body as unknown,
    challenge: res.headers['www-authenticate'],
  };
}

/**
 * The account-lifecycle doors that take an access token, each asked for the most it could do with
 * the test users' real password: change it, mail a link, delete the account.
 */
async function lifecycleDoors(t: Target, token: string): Promise<[string, request.Response][]> {
  const auth = `Bearer ${token}`;
  return [
    ['POST /password/change', await request(t.http).post('/password/change').set('Authorization', auth).send({ current_password: PASSWORD, new_password: UNSETTABLE_PASSWORD })],
    ['POST /email/verify/resend', await request(t.http).post('/email/verify/resend').set('Authorization', auth)],
    ['DELETE /profile', await request(t.http).delete('/profile').set('Authorization', auth).send({ password: PASSWORD })],
  ];
}

/**
 * Presents `token` as an access token at every door that takes one: GET /profile, POST /logout
 * with scope "global" (the most a token could destroy), the account-lifecycle routes with the real
 * password (a change, a resend, a deletion), and POST /introspect. Each must refuse it: 401
 * invalid_token with `description` (or 400 when the Authorization header itself is malformed),
 * and `{"active": false}`.
 */
export async function expectAccessTokenRefused(t: Target, token: string, description = 'token invalid'): Promise<void> {
  const expected = {
    status: 401,
    type: 'application/json; charset=utf-8',
    body: { error: 'invalid_token', error_description: description },
    challenge: challenge('invalid_token', description),
  };
  const profile = await request(t.http).get('/profile').set('Authorization', `Bearer ${token}`);
  expect(refusal(profile)).toEqual(expected);
  const logout = await request(t.http).post('/logout').set('Authorization', `Bearer ${token}`).send({ scope: 'global' });
  expect(refusal(logout)).toEqual(expected);
  for (const [door, res] of await lifecycleDoors(t, token)) expect({ door, ...refusal(res) }).toEqual({ door, ...expected });
  const introspection = await introspect(t, token);
  expect({ status: introspection.status, body: introspection.body }).toEqual({ status: 200, body: { active: false } });
}

/**
 * For a genuine access token whose session has ended: 401 "token revoked" at GET /profile,
 * GET /sessions and the account-lifecycle routes (with the real password), `{"active": false}` at
 * /introspect. (POST /logout still answers it 204: logout is idempotent, and an ended session can
 * end nothing else; the lifecycle attacks check that.)
 */
export async function expectAccessTokenRevoked(t: Target, token: string): Promise<void> {
  const expected = {
    status: 401,
    type: 'application/json; charset=utf-8',
    body: { error: 'invalid_token', error_description: 'token revoked' },
    challenge: challenge('invalid_token', 'token revoked'),
  };
  for (const path of ['/profile', '/sessions']) {
    expect({ path, ...refusal(await request(t.http).get(path).set('Authorization', `Bearer ${token}`)) }).toEqual({ path, ...expected });
  }
  for (const [door, res] of await lifecycleDoors(t, token)) expect({ door, ...refusal(res) }).toEqual({ door, ...expected });
  const introspection = await introspect(t, token);
  expect({ status: introspection.status, body: introspection.body }).toEqual({ status: 200, body: { active: false } });
}

/** Like expectAccessTokenRefused, for a value the Bearer grammar itself rejects (400 before any check). */
export async function expectMalformedBearerRefused(t: Target, token: string): Promise<void> {
  const description = 'The Authorization header must be "Bearer" followed by one token.';
  const expected = {
    status: 400,
    type: 'application/json; charset=utf-8',
    body: { error: 'invalid_request', error_description: description },
    challenge: challenge('invalid_request', description),
  };
  expect(refusal(await request(t.http).get('/profile').set('Authorization', `Bearer ${token}`))).toEqual(expected);
  const logout = await request(t.http).post('/logout').set('Authorization', `Bearer ${token}`).send({ scope: 'global' });
  expect(refusal(logout)).toEqual(expected);
  for (const [door, res] of await lifecycleDoors(t, token)) expect({ door, ...refusal(res) }).toEqual({ door, ...expected });
  const introspection = await introspect(t, token);
  expect({ status: introspection.status, body: introspection.body }).toEqual({ status: 200, body: { active: false } });
}

/** Presents `token` as a refresh token at POST /refresh and POST /logout: 401 invalid_grant, nothing issued. */
export async function expectRefreshTokenRefused(t: Target, token: string): Promise<void> {
  for (const path of ['/refresh', '/logout']) {
    const res = await request(t.http).post(path).send({ refresh_token: token });
    expect({ path, status: res.status, error: res.body.error, issued: 'access_token' in res.body }).toEqual({
      path,
      status: 401,
      error: 'invalid_grant',
      issued: false,
    });
  }
}

/**
 * For a genuine refresh token whose session has ended: POST /refresh is 401 invalid_grant and
 * issues nothing; POST /logout answers 204 (idempotent) and ends nothing.
 */
export async function expectRefreshTokenEnded(t: Target, token: string): Promise<void> {
  const res = await request(t.http).post('/refresh').send({ refresh_token: token });
  expect({ status: res.status, error: res.body.error, issued: 'access_token' in res.body }).toEqual({
    status: 401,
    error: 'invalid_grant',
    issued: false,
  });
  expect((await request(t.http).post('/logout').send({ refresh_token: token, scope: 'global' })).status).toBe(204);
}

/**
 * The victim's own tokens still work and their first session is still there, next to exactly
 * `otherSessions` sessions the test opened itself: no attack ended, changed or added one.
 */
export async function expectVictimUntouched(t: Target, otherSessions = 0): Promise<void> {
  const profile = await request(t.http).get('/profile').set('Authorization', `Bearer ${t.victim.tokens.access_token}`);
  expect({ status: profile.status, user: profile.body.user }).toEqual({ status: 200, user: t.victim.tokens.user });
  const sessions = await t.stores.sessions.listByUser(t.victim.tokens.user.id);
  expect({ first: sessions[0]?.id, others: sessions.length - 1 }).toEqual({ first: t.claims.sid, others: otherSessions });
}

/** An HTTP server that must receive nothing (the jku/x5u a token points at): it counts what it gets. */
export class TrapListener {
  readonly hits: string[] = [];
  private readonly server = http.createServer((req, res) => {
    this.hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Listens on an ephemeral port of 127.0.0.1 (for attacks supertest cannot send). */
export async function listen(app: AuthApp): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(app as unknown as http.RequestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes raw bytes to 127.0.0.1:port and collects what comes back until the server closes the
 * connection (or `timeoutMs` passes, then `closed` is false). A reset counts as closed.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => socket.write(bytes));
  });
}

/** What anyone may cache: the key set, and the discovery documents that point at it (served with an issuer URL). */
const PUBLIC_METADATA = new Set(['/.well-known/jwks.json', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

/** Paths whose 200 is a page or an asset rather than an API answer (they may be HTML, CSS, JS). */
function isPage(path: string): boolean {
  return path === '/' || path === '/docs' || path.startsWith('/docs/') || path.startsWith('/demo/');
}

/** The contract's cache rule: no-store everywhere, except the published keys, the discovery documents and the docs assets. */
function expectedCacheControl(path: string, status: number): string {
  if (PUBLIC_METADATA.has(path) && status === 200) return 'public, max-age=300';
  if (path.startsWith('/docs/') && status === 200) return 'no-cache';
  return 'no-store';
}

/** Zod's own wording, which a body must never show (the schemas give every message themselves). */
const LIBRARY_MESSAGES: [string, RegExp][] = [
  ['a zod default message', /Invalid input|expected \w+, received|Too (?:big|small)|Unrecognized key|Invalid (?:string|email|enum)/],
  ['a Node.js error code', /\b(?:ECONNREFUSED|ECONNRESET|ENOENT|EACCES|ETIMEDOUT|EPIPE|EADDRINUSE)\b|\bERR_[A-Z_]{3,}/],
];

function header(headers: OutgoingHttpHeaders | IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The routes that take a one-time token (a reset or verification link): there invalid_grant is a 400 (RFC 6749 §5.2), not the refresh token's 401. */
export const ONE_TIME_TOKEN_ROUTES: readonly string[] = ['/password/reset', '/email/verify'];

/** The statuses the contract gives `code` on `path`. */
export function statusesOf(code: ErrorCode, path: string): number[] {
  const status = ERROR_TABLE[code]?.status;
  if (status === undefined) return [];
  return code === 'invalid_grant' && ONE_TIME_TOKEN_ROUTES.includes(path.toLowerCase()) ? [400] : [status];
}

function problemsOf(res: RecordedResponse, secrets: [string, string][], corsOrigins: readonly string[]): string[] {
  // As Express routes it: /openapi.json/ is /openapi.json and // is /, so their rules follow.
  const path = res.url.split('?')[0]!.replace(/(.)\/+$/, '$1');
  const problems: string[] = [];
  const has = (name: string) => header(res.headers, name);

  // Security headers on every response, pages included.
  const csp = has('content-security-policy') ?? '';
  if (!csp.includes("default-src 'none'") || !csp.includes("frame-ancestors 'none'")) problems.push(`CSP ${JSON.stringify(csp)}`);
  const fixed: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  for (const [name, value] of Object.entries(fixed)) if (has(name) !== value) problems.push(`${name}: ${has(name)}`);
  if (!/^max-age=\d{7,}/.test(has('strict-transport-security') ?? '')) problems.push('no Strict-Transport-Security');
  if (has('x-powered-by') !== undefined) problems.push('X-Powered-By');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(has('x-request-id') ?? '')) problems.push('no X-Request-Id');
  const cache = expectedCacheControl(path, res.status);
  if (has('cache-control') !== cache) problems.push(`Cache-Control ${has('cache-control')}, not ${cache}`);

  // CORS: only a configured origin, only its own request, never "*".
  const allowOrigin = has('access-control-allow-origin');
  if (allowOrigin !== undefined && (!corsOrigins.includes(allowOrigin) || allowOrigin !== res.origin)) {
    problems.push(`Access-Control-Allow-Origin ${allowOrigin} for origin ${res.origin}`);
  }
  // Cookies: only the refresh cookie, always HttpOnly, Secure, SameSite=Strict, Path=/.
  const cookies = res.headers['set-cookie'];
  for (const cookie of Array.isArray(cookies) ? cookies : cookies === undefined ? [] : [String(cookies)]) {
    if (!/^__Host-refresh_token=/.test(cookie) || !/; HttpOnly/.test(cookie) || !/; Secure/.test(cookie) || !/; SameSite=Strict/.test(cookie) || !/; Path=\//.test(cookie)) {
      problems.push(`cookie ${cookie.split('=')[0]} without its attributes`);
    }
  }

  // The body: JSON in the contract's shapes, pages only where pages are.
  const type = has('content-type');
  const page = isPage(path) && res.status === 200;
  const bodyless = res.body === '' && (res.method === 'HEAD' || res.status === 204 || res.status === 304);
  if (!bodyless && !page && type !== 'application/json; charset=utf-8') problems.push(`Content-Type ${type}`);
  if (res.status >= 400 && res.method !== 'HEAD') {
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(res.body) as Record<string, unknown>;
    } catch {
      problems.push('an error body that is not JSON');
    }
    if (body) {
      const code = body.error as ErrorCode;
      if (typeof code !== 'string' || !statusesOf(code, path).includes(res.status)) problems.push(`error code ${String(code)} for ${res.status}`);
      if (typeof body.error_description !== 'string') problems.push('no error_description');
      // 403 mfa_required also carries the sign-in's mfa_token and its expires_in (the contract's second factor).
      const allowed = code === 'mfa_required' && res.status === 403 ? ['mfa_token', 'expires_in'] : [];
      const extra = Object.keys(body).filter((key) => !['error', 'error_description', 'details', ...allowed].includes(key));
      if (extra.length > 0) problems.push(`error fields ${extra.join(', ')}`);
    }
    if (res.status === 401 && !has('www-authenticate')) problems.push('a 401 without WWW-Authenticate');
  }

  // Nothing internal and nothing secret, in any body (pages and the OpenAPI document are documents, not answers).
  const answer = !page && path !== '/openapi.json';
  if (answer || res.status >= 400) {
    for (const [what, pattern] of [...INTERNALS, ...LIBRARY_MESSAGES]) if (pattern.test(res.body)) problems.push(`shows ${what}`);
  }
  for (const [name, value] of secrets) {
    // The OpenAPI document's example password is the classic phrase the test users have too.
    if (res.body.includes(value) && (answer || value !== PASSWORD)) problems.push(`shows ${name}`);
  }
  if (/\$2[aby]\$\d\d\$/.test(res.body)) problems.push('shows a bcrypt hash');
  if (/PRIVATE KEY|"d"\s*:/.test(res.body)) problems.push('shows a private key');
  return problems;
}

/**
 * The audit of every response a file's attacks drew, run last in the file: security headers,
 * cache rules, CORS and cookie attributes on each one; the contract's error shape on each error;
 * no stack trace, path, library message, secret, hash or private key in any body.
 */
export function auditResponses(recorder: ResponseRecorder, options: { corsOrigins?: readonly string[]; atLeast?: number } = {}): void {
  describe('every response the attacks above drew', () => {
    it('was recorded, all of them', () => {
      expect(recorder.responses.length).toBeGreaterThanOrEqual(options.atLeast ?? 10);
    });

    it('carries the security headers, the cache rule, no foreign CORS grant, and no secret, stack trace, path or library message', () => {
      const offenders = recorder.responses
        .map((res) => ({ request: `${res.method} ${res.url.slice(0, 120)} → ${res.status}`, problems: problemsOf(res, recorder.secretEntries(), options.corsOrigins ?? []) }))
        .filter((entry) => entry.problems.length > 0);
      expect(offenders).toEqual([]);
    });
  });
}
