// Property-based fuzzing (fast-check) on every backend: random and mutated requests at every route, then random session and account lifecycles against models; no 5xx, the contract's shapes, and no bad token ever served.
import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import type { z } from 'zod';
import { totpCode } from '../../src/auth/totp';
import type { ErrorCode } from '../../src/errors';
import { REFRESH_COOKIE } from '../../src/http/cookie-mode';
import { adminUserDetailSchema } from '../../src/http/openapi/admin-operations';
import {
  acceptedSchema,
  adminUserPageSchema,
  adminUserResponseSchema,
  auditPageSchema,
  errorSchema,
  healthSchema,
  introspectionSchema,
  jwkSetSchema,
  readySchema,
  sessionListSchema,
  recoveryCodesSchema,
  tokenResponseSchema,
  totpEnrolmentSchema,
  userResponseSchema,
} from '../../src/http/response-schemas';
import { auditResponses, CLIENT, ResponseRecorder, statusesOf, target, type Target } from '../helpers/attack';
import { FakeClock } from '../helpers/fake-clock';
import { adminAndLogin, decodeJwt, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { describeEachBackend } from '../helpers/store-backends';
import { runAccountFuzz } from './fuzz-accounts';
import { runMfaFuzz } from './fuzz-mfa';
import { fuzzSummary } from './fuzz-run';
import { runSessionFuzz } from './fuzz-sessions';
import { FOREIGN_SIGNERS, MUTATIONS, mutate, resign } from './fuzz-tokens';
import { loggedMail, settled } from './mail-log';

/** A number the environment gives, or the default; anything but a whole number stops the file. */
function wholeNumber(name: string, fallback: number): number {
  const given = process.env[name];
  if (given === undefined || given === '') return fallback;
  if (!/^\d+$/.test(given)) throw new Error(`${name} must be a whole number, not ${JSON.stringify(given)}`);
  return Number(given);
}

/**
 * A new seed every run, so that runs explore instead of repeating one path; printed, and named in
 * every test title and failure, so that `FUZZ_SEED=<seed>` replays a run exactly.
 */
const SEED = wholeNumber('FUZZ_SEED', randomInt(2 ** 31 - 1));
/** Random requests per backend (a fifth of them an admin's, at the admin routes). */
const RUNS = wholeNumber('FUZZ_RUNS', 300);
/** Session-fuzz steps per backend, in sequences of at most STEPS_PER_RUN, each with fresh users. */
const STEPS = wholeNumber('FUZZ_STEPS', 120);
const STEPS_PER_RUN = 60;
/** Account-fuzz steps per backend, in sequences of at most ACCOUNT_STEPS_PER_RUN, each with fresh accounts. */
const ACCOUNT_STEPS = wholeNumber('FUZZ_ACCOUNT_STEPS', 80);
const ACCOUNT_STEPS_PER_RUN = 40;
/** Second-factor steps per backend, in sequences of at most MFA_STEPS_PER_RUN, each with fresh accounts. */
const MFA_STEPS = wholeNumber('FUZZ_MFA_STEPS', 120);
const MFA_STEPS_PER_RUN = 60;
process.stdout.write(
  `fuzz.test.ts: seed ${SEED}, ${RUNS} requests, ${STEPS} session steps, ${ACCOUNT_STEPS} account steps and ${MFA_STEPS} second-factor steps per backend (FUZZ_SEED=${SEED} replays this run)\n`,
);

/** The fuzz refreshes one session far more often than a client would: the per-session limit stays out of its way. */
const FUZZ_ENV = { REFRESH_RATE_LIMIT_MAX: '1000000', MFA_ENCRYPTION_KEY: 'Jq3vT8yW1nR6kP0sX4mB9cL2dF7gH5zA1eU3iO8tY6w=' };
/** The account fuzz gives wrong passwords on purpose; its model leaves the failed-login budget out. */
const ACCOUNT_FUZZ_ENV = { ...FUZZ_ENV, LOGIN_RATE_LIMIT_MAX: '1000000' };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/**
 * The routes of the contract, with the paths of the pages and their assets, each marked `token`
 * where it needs a live access token (as routed: see routed()). SID is the victim's session id,
 * UID the victim's user id: the admin routes act on the victim.
 */
const ROUTES: Record<string, 'open' | 'token'> = {
  '/register': 'open',
  '/login': 'open',
  '/login/mfa': 'open',
  '/mfa/totp': 'token',
  '/mfa/totp/confirm': 'token',
  '/refresh': 'open',
  '/logout': 'open',
  '/profile': 'token',
  '/sessions': 'token',
  '/sessions/SID': 'token',
  '/admin/users': 'token',
  '/admin/users/UID': 'token',
  '/admin/users/UID/sessions': 'token',
  '/admin/users/UID/mfa': 'token',
  '/admin/audit': 'token',
  '/password/change': 'token',
  '/password/forgot': 'open',
  '/password/reset': 'open',
  '/email/verify': 'open',
  '/email/verify/resend': 'token',
  '/health': 'open',
  '/ready': 'open',
  '/introspect': 'open',
  '/.well-known/jwks.json': 'open',
  '/openapi.json': 'open',
  '/docs': 'open',
  '/docs/swagger-ui.css': 'open',
  '/': 'open',
  '/demo/app.js': 'open',
};

const PATHS = Object.keys(ROUTES);

/** The routes that need a live access token. */
const PROTECTED = PATHS.filter((path) => ROUTES[path] === 'token');

/** The routes that take a one-time token (a reset or verification link) in the body. */
const ONE_TIME = ['/password/reset', '/email/verify'];

/** The documented success of each route: its body's schema (null: no body; 'page': HTML, CSS or JS). */
function successSchema(method: Method, path: string): z.ZodType | null | 'page' | 'document' {
  const route = `${method === 'HEAD' ? 'GET' : method} ${path.replace('/sessions/SID', '/sessions/:id').replace('/admin/users/UID', '/admin/users/:id')}`;
  const table: Record<string, z.ZodType | null | 'page' | 'document'> = {
    'POST /register': userResponseSchema,
    'POST /login': tokenResponseSchema,
    'POST /login/mfa': tokenResponseSchema,
    'POST /mfa/totp': totpEnrolmentSchema,
    'POST /mfa/totp/confirm': recoveryCodesSchema,
    'DELETE /mfa/totp': null,
    'POST /refresh': tokenResponseSchema,
    'POST /logout': null,
    'GET /profile': userResponseSchema,
    'GET /sessions': sessionListSchema,
    'DELETE /sessions/:id': null,
    'GET /admin/users': adminUserPageSchema,
    'POST /admin/users': adminUserResponseSchema,
    'GET /admin/users/:id': adminUserDetailSchema,
    'PATCH /admin/users/:id': adminUserResponseSchema,
    'DELETE /admin/users/:id': null,
    'DELETE /admin/users/:id/sessions': null,
    'DELETE /admin/users/:id/mfa': null,
    'GET /admin/audit': auditPageSchema,
    'DELETE /profile': null,
    'POST /password/change': tokenResponseSchema,
    'POST /password/forgot': acceptedSchema,
    'POST /password/reset': null,
    'POST /email/verify': userResponseSchema,
    'POST /email/verify/resend': acceptedSchema,
    'GET /health': healthSchema,
    'GET /ready': readySchema,
    'POST /introspect': introspectionSchema,
    'GET /.well-known/jwks.json': jwkSetSchema,
    'GET /openapi.json': 'document',
  };
  if (route in table) return table[route]!;
  return path === '/' || path.startsWith('/docs') || path.startsWith('/demo/') ? 'page' : null;
}

/** The logged-in user the random requests carry tokens of; replaced when its session ends. */
interface Victim {
  id: string;
  email: string;
  access: string;
  refresh: string;
  sid: string;
  /** The newest reset and verification links mailed to the victim, once there are any. */
  reset: string | null;
  verification: string | null;
}

/**
 * A user with TOTP on, whose codes and mfa_token the random requests carry: the current mfa_token
 * (replaced once used, void or limited), the secret, the recovery codes, and the last code accepted.
 */
interface SecondFactorUser {
  id: string;
  email: string;
  secret: string;
  recoveryCodes: string[];
  token: string;
  /** The mfa_token before the current one (used or void), for "used twice". */
  spentToken: string | null;
  lastAccepted: string | null;
}

/** The admin whose access token the random requests may carry; replaced when its session ends. */
interface Admin {
  email: string;
  access: string;
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });
const urlSafe = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~%/?=&+'.split('')), maxLength: 30 });

/**
 * The random requests. Tokens are read when a request is sent (each value is a thunk), so that
 * they are the victim's current ones: a refresh or a re-login between two requests changes them.
 */
function requestArbitrary(victim: () => Victim, admin: () => Admin, nowSec: () => number, second: () => SecondFactorUser) {
  const access = () => victim().access;
  const adminAccess = () => admin().access;
  const refreshToken = () => victim().refresh;

  /** Small changes to a real token (see fuzz-tokens.ts). */
  const mutated = (token: () => string) => fc.tuple(fc.constantFrom(...MUTATIONS), fc.nat()).map(([how, at]) => () => mutate(token(), how, at));
  /** The victim's claims, fresh, signed by a key that is not the server's access key. */
  const foreign = fc
    .tuple(fc.constantFrom(...FOREIGN_SIGNERS), fc.nat())
    .map(([signer, at]) => () => resign(access(), signer, { iat: nowSec(), exp: nowSec() + 900 }, at));

  const authorization = fc.oneof(
    fc.constant(() => `Bearer ${access()}`),
    // The admin's, so that the admin routes answer more than 403.
    fc.constant(() => `Bearer ${adminAccess()}`),
    mutated(adminAccess).map((token) => () => `Bearer ${token()}`),
    mutated(access).map((token) => () => `Bearer ${token()}`),
    mutated(refreshToken).map((token) => () => `Bearer ${token()}`),
    foreign.map((token) => () => `Bearer ${token()}`),
    fc.constant(() => `Bearer ${refreshToken()}`),
    fc.constant(() => `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`),
    printable.map((text) => () => text),
    printable.map((text) => () => `Bearer ${text}`),
    printable.map((text) => () => `Basic ${Buffer.from(text).toString('base64')}`),
  );

  const contentType = fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
    ),
    printable,
  );

  const headers = fc.record(
    {
      Authorization: authorization,
      'Content-Type': contentType.map((value) => () => value),
      'X-Token-Mode': fc.oneof(fc.constantFrom('cookie', 'COOKIE', ' cookie '), printable).map((value) => () => value),
      Cookie: fc.oneof(
        fc.constant(() => `${REFRESH_COOKIE}=${refreshToken()}`),
        mutated(refreshToken).map((token) => () => `${REFRESH_COOKIE}=${token()}`),
        // Two refresh cookies, as a planted one beside the user's own (cookie tossing): 401 invalid_grant.
        fc.constant(() => `${REFRESH_COOKIE}=${refreshToken()}; ${REFRESH_COOKIE}=${refreshToken()}`),
        printable.map((text) => () => text),
      ),
      'X-Forwarded-For': printable.map((value) => () => value),
      'X-Request-Id': printable.map((value) => () => value),
    },
    { requiredKeys: [] },
  );

  /** A body a route accepts, to mutate. */
  const validBodies = (): Record<string, unknown>[] => [
    { email: victim().email, password: PASSWORD },
    { email: uniqueEmail('fuzz'), password: PASSWORD },
    { refresh_token: refreshToken() },
    { refresh_token: refreshToken(), scope: 'others' },
    { token: access() },
    { current_password: PASSWORD, new_password: 'fuzzed new passphrase one' },
    { email: victim().email },
    { token: victim().reset ?? 'no-reset-link-yet', new_password: 'fuzzed new passphrase two' },
    { token: victim().verification ?? 'no-verification-link-yet' },
    { password: PASSWORD },
    // The admin routes' bodies: a new user, an invitation, the changes an admin makes.
    { email: uniqueEmail('fuzz-created'), password: PASSWORD, role: 'user', email_verified: true },
    { email: uniqueEmail('fuzz-invited') },
    { disabled: true },
    { disabled: false },
    { role: 'admin' },
    { role: 'user', email_verified: true },
    // The second factor's bodies: a real code and mfa_token, a replayed code, a used token, a
    // recovery code, a foreign code and token, a mutated token, and a code alone (confirm, removal).
    { mfa_token: second().token, code: totpCode(second().secret, nowSec() * 1000) },
    { mfa_token: second().token, code: second().lastAccepted ?? totpCode(second().secret, nowSec() * 1000) },
    { mfa_token: second().spentToken ?? second().token, code: totpCode(second().secret, nowSec() * 1000) },
    { mfa_token: second().token, code: second().recoveryCodes[0] ?? 'AAAAA-AAAAA' },
    { mfa_token: second().token, code: String((Number(totpCode(second().secret, nowSec() * 1000)) + 1) % 1_000_000).padStart(6, '0') },
    { mfa_token: access(), code: totpCode(second().secret, nowSec() * 1000) },
    { mfa_token: refreshToken(), code: second().recoveryCodes[1] ?? 'AAAAA-AAAAA' },
    { mfa_token: mutate(second().token, MUTATIONS[nowSec() % MUTATIONS.length]!, nowSec()), code: totpCode(second().secret, nowSec() * 1000) },
    { code: totpCode(second().secret, nowSec() * 1000) },
    { code: '123456' },
  ];

  const mutatedBody = fc
    .tuple(fc.nat(), fc.constantFrom('replace', 'drop', 'add'), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([pick, how, key, value]) => () => {
      const bodies = validBodies();
      const body: Record<string, unknown> = { ...bodies[pick % bodies.length]! };
      const keys = Object.keys(body);
      const field = keys[pick % keys.length]!;
      if (how === 'replace') body[field] = value;
      else if (how === 'drop') delete body[field];
      else body[key] = value;
      return JSON.stringify(body);
    });

  const body = fc.oneof(
    fc.constant(undefined),
    fc.json({ maxDepth: 4 }).map((text) => () => text),
    mutatedBody,
    fc.constant(() => JSON.stringify(validBodies()[0])),
    fc.constantFrom(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15).map((index) => () => JSON.stringify(validBodies()[index])),
    fc.constantFrom(16, 17, 18, 19, 20, 21, 22, 23, 24, 25).map((index) => () => JSON.stringify(validBodies()[index])),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => () => Buffer.from(bytes)),
    fc.constant(() => `{"pad":"${'x'.repeat(11 * 1024)}"}`),
  );

  const path = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...PATHS), urlSafe).map(([base, suffix]) => `${base}${suffix.startsWith('?') ? '' : '/'}${suffix}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PATHS), fc.constantFrom('access_token', 'refresh_token', '__proto__[role]')).map(([base, name]) => `${base}?${name}=x`) },
    { weight: 1, arbitrary: urlSafe.map((text) => `/${text}`) },
  );

  const anything = fc.record({ method: fc.constantFrom(...METHODS), path, headers, body });

  /**
   * Requests of an admin: the admin's token and JSON, at the admin routes, with their queries
   * (filters, limits, the newest cursor each list handed out, or a broken one) and their bodies,
   * as given or mutated. Random ones alone would reach past the token check too rarely.
   */
  const adminQuery = fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      '?limit=1',
      '?limit=200',
      '?cursor=CURSOR',
      '?limit=1&cursor=CURSOR',
      '?email=fuzz',
      '?user_id=UID',
      '?type=login.failed',
      '?type=user.updated',
      '?since=2026-01-01T00:00:00Z',
      '?until=2026-01-01T00:00:00Z',
      '?since=2999-01-01T00:00:00Z&until=2000-01-01T00:00:00Z',
    ),
    fc.tuple(fc.constantFrom('limit', 'cursor', 'user_id', 'type', 'since', 'until', 'email', 'role'), urlSafe).map(([name, value]) => `?${name}=${value}`),
  );
  const adminBodyIndex = fc.constantFrom(10, 11, 12, 13, 14, 15);
  const adminBody = fc.oneof(
    fc.constant(undefined),
    adminBodyIndex.map((index) => () => JSON.stringify(validBodies()[index])),
    fc
      .tuple(adminBodyIndex, fc.constantFrom('replace', 'drop', 'add'), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([index, how, key, value]) => () => {
        const given: Record<string, unknown> = { ...validBodies()[index]! };
        const field = Object.keys(given)[0]!;
        if (how === 'replace') given[field] = value;
        else if (how === 'drop') delete given[field];
        else given[key] = value;
        return JSON.stringify(given);
      }),
  );
  /** The admin operations; the lists the most often, so that filters and cursors get their turn. */
  const adminOperation = fc.oneof(
    { weight: 4, arbitrary: fc.constant(['GET', '/admin/audit'] as const) },
    { weight: 2, arbitrary: fc.constant(['GET', '/admin/users'] as const) },
    ...(
      [
        ['POST', '/admin/users'],
        ['GET', '/admin/users/UID'],
        ['PATCH', '/admin/users/UID'],
        ['DELETE', '/admin/users/UID'],
        ['DELETE', '/admin/users/UID/sessions'],
        ['DELETE', '/admin/users/UID/mfa'],
      ] as const
    ).map((operation) => ({ weight: 1, arbitrary: fc.constant(operation) })),
  );
  const adminRequest = fc
    .tuple(adminOperation, adminQuery, adminBody, fc.option(printable, { nil: undefined }))
    .map(([[method, base], query, body, userAgent]) => ({
      method: method as Method,
      path: method === 'GET' ? `${base}${query}` : base,
      headers: {
        Authorization: () => `Bearer ${adminAccess()}`,
        'Content-Type': () => 'application/json',
        ...(userAgent === undefined ? {} : { 'User-Agent': () => userAgent }),
      },
      body: method === 'POST' || method === 'PATCH' ? body : undefined,
    }));

  return fc.oneof({ weight: 4, arbitrary: anything }, { weight: 1, arbitrary: adminRequest });
}

/**
 * The path as Express routes it: without the query, lower case, without trailing slashes; then a
 * session id as SID and a user id of the admin routes as UID (upper case, as PROTECTED has them).
 */
function routed(requestPath: string): string {
  const bare = (requestPath.split('?')[0]!.replace(/\/+$/, '') || '/').toLowerCase();
  return bare.replace(/\/sessions\/.+$/, '/sessions/SID').replace(/^\/admin\/users\/[^/]+/, '/admin/users/UID');
}

/** What must hold of every answer's shape; returns the problems found (empty when it conforms). */
function problems(method: Method, requestPath: string, res: request.Response): string[] {
  const found: string[] = [];
  const type = res.headers['content-type'];
  if (res.status >= 500) found.push(`status ${res.status}`);
  const bare = routed(requestPath);
  if (res.status >= 400) {
    if (method === 'HEAD') return found;
    if (type !== 'application/json; charset=utf-8') found.push(`error Content-Type ${type}`);
    const parsed = errorSchema.safeParse(res.body);
    if (!parsed.success) found.push(`error body ${res.text.slice(0, 200)}`);
    else if (!statusesOf(parsed.data.error as ErrorCode, bare).includes(res.status)) found.push(`${parsed.data.error} with ${res.status}`);
    return found;
  }
  if (method === 'OPTIONS' || method === 'HEAD' || res.status === 204) {
    if ((res.text ?? '') !== '') found.push('a body where none belongs');
    return found;
  }
  const expected = successSchema(method, bare);
  if (expected === 'page') return found;
  if (expected === 'document') {
    if (typeof res.body?.openapi !== 'string') found.push('not the OpenAPI document');
    return found;
  }
  if (expected === null) {
    found.push(`a ${res.status} with a body on a route that has none`);
    return found;
  }
  if (type !== 'application/json; charset=utf-8') found.push(`Content-Type ${type}`);
  const parsed = expected.safeParse(res.body);
  if (!parsed.success) found.push(`success body ${res.text.slice(0, 200)}`);
  return found;
}

/** What a random request carried, as sent: the credentials a server might have honoured. */
interface Sent {
  bearer: string | undefined;
  /** The user id in the path of an admin route (`/admin/users/:id…`). */
  pathUser: string | undefined;
  bodyRefresh: string | undefined;
  bodyToken: string | undefined;
  bodyMfaToken: string | undefined;
  bodyCode: string | undefined;
  cookieRefresh: string | undefined;
}

function sentCredentials(concretePath: string, headers: Record<string, string>, payload: string | Buffer | undefined): Sent {
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = typeof payload === 'string' ? JSON.parse(payload) : null;
    if (parsed !== null && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: no token in it.
  }
  const cookie = (headers.Cookie ?? '').split(';').find((part) => part.trim().startsWith(`${REFRESH_COOKIE}=`));
  return {
    bearer: /^bearer +(\S+)$/i.exec(headers.Authorization ?? '')?.[1],
    pathUser: /^\/admin\/users\/([^/?]+)/.exec(concretePath)?.[1],
    bodyRefresh: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
    bodyToken: typeof json.token === 'string' ? json.token : undefined,
    bodyMfaToken: typeof json.mfa_token === 'string' ? json.mfa_token : undefined,
    bodyCode: typeof json.code === 'string' ? json.code : undefined,
    cookieRefresh: cookie?.trim().slice(REFRESH_COOKIE.length + 1),
  };
}

/** The refresh token a cookie-mode answer set, or undefined. */
function cookieToken(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return cookies.find((cookie) => cookie.startsWith(`${REFRESH_COOKIE}=`))?.slice(REFRESH_COOKIE.length + 1).split(';')[0] || undefined;
}

/** A code as the server compares it: recovery codes without case, spaces or dashes. */
function normalisedCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** The `sub` and `sid` of a JWT, or nothing for anything that is not one. */
function subject(token: string | undefined): { sub?: string; sid?: string } {
  if (token === undefined) return {};
  try {
    const { payload } = decodeJwt(token);
    return { sub: typeof payload.sub === 'string' ? payload.sub : undefined, sid: typeof payload.sid === 'string' ? payload.sid : undefined };
  } catch {
    return {};
  }
}

/**
 * Every token the server issued in this file: anything else (mutated, forged, foreign) must never
 * be honoured. And what the lifecycle routes did with them: the sessions a change, a reset or a
 * deletion ended (whose tokens must never be honoured again), and the links the server mailed,
 * used and voided (each honoured at most once, and never once void).
 */
class Issued {
  readonly access = new Set<string>();
  readonly refresh = new Set<string>();
  /** Every link mailed: its token, to whom, and what for. */
  readonly mailed = new Map<string, { email: string; kind: 'reset' | 'verification' }>();
  /** Links used once, or made void by a change, a reset or a deletion: each with why. */
  readonly spent = new Map<string, string>();
  /** The sessions a change, a reset or a deletion ended, each with why. */
  readonly ended = new Map<string, string>();
  /** Every mfa_token a 403 mfa_required handed out, and those a sign-in used. */
  readonly mfaTokens = new Set<string>();
  readonly mfaUsed = new Set<string>();
  /** The second factors the fuzz knows (user id → secret and recovery codes), and every code a sign-in took (user id and code, as typed normalised). */
  readonly factors = new Map<string, { secret: string; recoveryCodes: string[] }>();
  readonly codesTaken = new Set<string>();
  /** Which user each session (sid) and each address belongs to. */
  private readonly userOfSession = new Map<string, string>();
  private readonly userOfEmail = new Map<string, string>();

  note(res: request.Response): void {
    if (res.status === 403 && typeof res.body?.mfa_token === 'string') this.mfaTokens.add(res.body.mfa_token);
    if (res.status < 200 || res.status >= 300 || typeof res.body !== 'object' || res.body === null) return;
    const user = res.body.user as { id?: unknown; email?: unknown } | undefined;
    if (typeof user?.id === 'string' && typeof user.email === 'string') this.userOfEmail.set(user.email, user.id);
    if (res.status !== 200) return;
    for (const token of [res.body.access_token, res.body.refresh_token, cookieToken(res)]) {
      if (typeof token !== 'string') continue;
      const { sub, sid } = subject(token);
      if (sub !== undefined && sid !== undefined) this.userOfSession.set(sid, sub);
    }
    if (typeof res.body.access_token === 'string') this.access.add(res.body.access_token);
    if (typeof res.body.refresh_token === 'string') this.refresh.add(res.body.refresh_token);
    const fromCookie = cookieToken(res);
    if (fromCookie) this.refresh.add(fromCookie);
  }

  /** Reads the mail the log gained from line `from` on: every link in it is one the server issued. */
  noteMail(logs: readonly string[], from: number): void {
    for (const mail of loggedMail(logs, from)) {
      if (mail.token !== null && mail.kind !== null) this.mailed.set(mail.token, { email: mail.to, kind: mail.kind });
    }
  }

  /** Why the session of an issued token has ended, or undefined while it may be live. */
  private endedSession(token: string | undefined): string | undefined {
    if (token === undefined || !(this.access.has(token) || this.refresh.has(token))) return undefined;
    const { sid } = subject(token);
    return sid === undefined ? undefined : this.ended.get(sid);
  }

  /** What a lifecycle answer did: the sessions it ended and the links it used up or voided. */
  apply(method: Method, bare: string, sent: Sent, res: request.Response): void {
    const endAll = (userId: string | undefined, why: string, keep?: string) => {
      if (userId === undefined) return;
      for (const [sid, owner] of this.userOfSession) if (owner === userId && sid !== keep && !this.ended.has(sid)) this.ended.set(sid, why);
    };
    const voidLinks = (email: string | undefined, kinds: ('reset' | 'verification')[], why: string) => {
      for (const [token, link] of this.mailed) if (link.email === email && kinds.includes(link.kind) && !this.spent.has(token)) this.spent.set(token, why);
    };
    const emailOf = (userId: string | undefined) => [...this.userOfEmail].find(([, id]) => id === userId)?.[0];
    if (method === 'POST' && bare === '/password/change' && res.status === 200) {
      const userId = subject(sent.bearer).sub;
      endAll(userId, 'a password change', subject(res.body.access_token).sid);
      voidLinks(emailOf(userId), ['reset'], 'voided by a password change');
    }
    if (method === 'DELETE' && bare === '/profile' && res.status === 204) {
      const userId = subject(sent.bearer).sub;
      endAll(userId, 'the account deleted');
      voidLinks(emailOf(userId), ['reset', 'verification'], 'voided: the account was deleted');
    }
    // An admin disabling or deleting an account, or ending its sessions, ends every session of it.
    if (method === 'PATCH' && bare === '/admin/users/UID' && res.status === 200 && res.body.user?.disabled === true) {
      endAll(sent.pathUser, 'an admin disabling the account');
    }
    if (method === 'DELETE' && bare === '/admin/users/UID' && res.status === 204) {
      endAll(sent.pathUser, 'an admin deleting the account');
      voidLinks(emailOf(sent.pathUser), ['reset', 'verification'], 'voided: an admin deleted the account');
    }
    if (method === 'DELETE' && bare === '/admin/users/UID/sessions' && res.status === 204) endAll(sent.pathUser, 'an admin ending every session');
    if (method === 'POST' && bare === '/login/mfa' && res.status === 200 && sent.bodyMfaToken !== undefined && sent.bodyCode !== undefined) {
      this.mfaUsed.add(sent.bodyMfaToken);
      this.codesTaken.add(`${subject(sent.bodyMfaToken).sub} ${normalisedCode(sent.bodyCode)}`);
    }
    if (method === 'POST' && ONE_TIME.includes(bare) && res.status >= 200 && res.status < 300 && sent.bodyToken !== undefined) {
      this.spent.set(sent.bodyToken, 'used');
      if (bare === '/password/reset') {
        const email = this.mailed.get(sent.bodyToken)?.email;
        endAll(email === undefined ? undefined : this.userOfEmail.get(email), 'a password reset');
        voidLinks(email, ['reset'], 'voided by a password reset');
      }
    }
  }

  /**
   * The security properties of one answer: a protected route answers 2xx only to an access token
   * the server issued, /refresh only to a refresh token it issued, /logout only when every
   * credential it carries was issued, and /introspect calls active only an issued access token;
   * none of them honours a token of a session a change, a reset or a deletion ended; and a link
   * is honoured only if the server mailed it, once, and never after it was voided.
   */
  breaches(method: Method, bare: string, sent: Sent, res: request.Response): string[] {
    if (res.status < 200 || res.status >= 300 || method === 'OPTIONS') return [];
    const short = (token: string | undefined) => (token === undefined ? 'none' : `${token.slice(0, 24)}…(${token.length} chars)`);
    const found: string[] = [];
    const refreshIssued = [sent.bodyRefresh, sent.cookieRefresh].some((token) => token !== undefined && this.refresh.has(token));
    if (PROTECTED.includes(bare) && !(sent.bearer !== undefined && this.access.has(sent.bearer))) {
      found.push(`a ${res.status} on a protected route for a Bearer token the server never issued: ${short(sent.bearer)}`);
    }
    const endedBearer = this.endedSession(sent.bearer);
    if (PROTECTED.includes(bare) && endedBearer !== undefined) {
      found.push(`a ${res.status} on a protected route for an access token of a session ended by ${endedBearer}`);
    }
    if (bare === '/refresh' && method === 'POST' && !refreshIssued) {
      found.push(`a ${res.status} at /refresh for a refresh token the server never issued: ${short(sent.bodyRefresh ?? sent.cookieRefresh)}`);
    }
    if (bare === '/refresh' && method === 'POST' && refreshIssued) {
      const presented = [sent.bodyRefresh, sent.cookieRefresh].filter((token) => token !== undefined && this.refresh.has(token));
      const why = presented.map((token) => this.endedSession(token));
      if (why.every((reason) => reason !== undefined)) found.push(`a ${res.status} at /refresh for a refresh token of a session ended by ${why[0]}`);
    }
    if (bare === '/logout' && method === 'POST') {
      if (sent.bearer !== undefined ? !this.access.has(sent.bearer) : !refreshIssued) {
        found.push(`a ${res.status} at /logout for credentials the server never issued: ${short(sent.bearer ?? sent.bodyRefresh ?? sent.cookieRefresh)}`);
      }
    }
    if (bare === '/introspect' && res.body?.active === true) {
      if (!(sent.bodyToken !== undefined && this.access.has(sent.bodyToken))) found.push(`introspection called a token the server never issued active: ${short(sent.bodyToken)}`);
      const endedToken = this.endedSession(sent.bodyToken);
      if (endedToken !== undefined) found.push(`introspection called a token of a session ended by ${endedToken} active`);
    }
    if (bare === '/admin/audit' && method === 'GET') {
      const text = res.text ?? '';
      if (text.includes(PASSWORD)) found.push('the audit log holds a password');
      for (const [kind, tokens] of [['access', this.access], ['refresh', this.refresh], ['link', this.mailed.keys()]] as const) {
        for (const token of tokens) if (text.includes(token)) found.push(`the audit log holds a ${kind} token: ${short(token)}`);
      }
    }
    if (bare === '/login/mfa' && method === 'POST') {
      // A second-factor sign-in only with an mfa_token the server handed out, never used before, and
      // a code of that user's factor (in the drift window, or an unused recovery code) never taken before.
      const token = sent.bodyMfaToken;
      const userId = subject(token).sub;
      const factor = userId === undefined ? undefined : this.factors.get(userId);
      const code = normalisedCode(sent.bodyCode ?? '');
      const now = Number(decodeJwt(res.body.access_token).payload.iat) * 1000;
      const window = factor ? [-1, 0, 1].map((steps) => totpCode(factor.secret, now + steps * 30_000)) : [];
      const recovery = factor ? factor.recoveryCodes.map(normalisedCode) : [];
      if (token === undefined || !this.mfaTokens.has(token)) found.push(`a ${res.status} at /login/mfa for an mfa_token the server never issued: ${short(token)}`);
      else if (this.mfaUsed.has(token)) found.push(`a ${res.status} at /login/mfa for an mfa_token used before`);
      if (!window.includes(code) && !recovery.includes(code)) found.push(`a ${res.status} at /login/mfa for a code not of that user's factor: ${code}`);
      if (this.codesTaken.has(`${userId} ${code}`)) found.push(`a ${res.status} at /login/mfa for a code taken before: ${code}`);
    }
    if (ONE_TIME.includes(bare) && method === 'POST') {
      const link = sent.bodyToken === undefined ? undefined : this.mailed.get(sent.bodyToken);
      if (link === undefined) found.push(`a ${res.status} at ${bare} for a link the server never mailed: ${short(sent.bodyToken)}`);
      else if (this.spent.has(sent.bodyToken!)) found.push(`a ${res.status} at ${bare} for a link already ${this.spent.get(sent.bodyToken!)}`);
      else if (link.kind !== (bare === '/password/reset' ? 'reset' : 'verification')) found.push(`a ${res.status} at ${bare} for a ${link.kind} link`);
    }
    return found;
  }
}

describeEachBackend('fuzz', (backend) => {
  const recorder = new ResponseRecorder();
  let t: Target;
  const issued = new Issued();
  let victim: Victim;
  let admin: Admin;
  let second: SecondFactorUser;
  /** The newest `next_cursor` each admin list handed out, for `?cursor=CURSOR`. */
  const cursors = new Map<string, string>();
  /** The first log line the fuzz has not read for mail yet. */
  let mailFrom = 0;

  /** The newest reset and verification links mailed to `email`. */
  function linksOf(email: string): Pick<Victim, 'reset' | 'verification'> {
    const links: Pick<Victim, 'reset' | 'verification'> = { reset: null, verification: null };
    for (const [token, link] of issued.mailed) if (link.email === email) links[link.kind] = token;
    return links;
  }

  /** Reads the mail sent since the last look, after the work the last answers started has ended. */
  async function readMail(): Promise<void> {
    await settled(t.http);
    issued.noteMail(t.logs, mailFrom);
    mailFrom = t.logs.length;
    victim = { ...victim, ...linksOf(victim.email) };
  }

  function victimOf(email: string, tokens: { access_token: string; refresh_token: string; user: { id: string; email: string } }): Victim {
    issued.note({ status: 200, body: tokens, headers: {} } as unknown as request.Response);
    return {
      id: tokens.user.id,
      email,
      access: tokens.access_token,
      refresh: tokens.refresh_token,
      sid: String(decodeJwt(tokens.access_token).payload.sid),
      ...linksOf(email),
    };
  }

  /** A new admin, logged in, its tokens noted as issued. */
  async function newAdmin(): Promise<Admin> {
    const { email, tokens } = await adminAndLogin(t.http);
    issued.note({ status: 200, body: tokens, headers: {} } as unknown as request.Response);
    return { email, access: tokens.access_token };
  }

  /** The right password of the second-factor user: its mfa_token, or null when the failed-login limit stops it. */
  async function freshMfaToken(email: string): Promise<string | null> {
    const res = await request(t.http).post('/login').send({ email, password: PASSWORD });
    issued.note(res);
    return res.status === 403 && typeof res.body.mfa_token === 'string' ? (res.body.mfa_token as string) : null;
  }

  /** A new user with TOTP on (enrolled and confirmed through the API at the app's clock), and its first mfa_token. */
  async function newSecondFactorUser(): Promise<SecondFactorUser> {
    const { email, tokens } = await registerAndLogin(t.http);
    issued.note({ status: 200, body: tokens, headers: {} } as unknown as request.Response);
    const auth = `Bearer ${tokens.access_token}`;
    const start = await request(t.http).post('/mfa/totp').set('Authorization', auth);
    const secret = start.body.secret as string;
    const confirm = await request(t.http).post('/mfa/totp/confirm').set('Authorization', auth).send({ code: totpCode(secret, t.clock.now()) });
    if (confirm.status !== 200) throw new Error(`enrolment failed: ${confirm.status} ${confirm.text}`);
    const recoveryCodes = confirm.body.recovery_codes as string[];
    issued.factors.set(tokens.user.id, { secret, recoveryCodes });
    issued.codesTaken.add(`${tokens.user.id} ${totpCode(secret, t.clock.now())}`);
    const token = await freshMfaToken(email);
    if (token === null) throw new Error('a new second-factor user got no mfa_token');
    return { id: tokens.user.id, email, secret, recoveryCodes, token, spentToken: null, lastAccepted: totpCode(secret, t.clock.now()) };
  }

  beforeAll(async () => {
    const clock = new FakeClock();
    const stores = await backend.open(clock);
    t = await target(recorder, FUZZ_ENV, { stores, clock });
    victim = victimOf(t.victim.email, t.victim.tokens);
    admin = await newAdmin();
    second = await newSecondFactorUser();
    await readMail();
  }, 60_000);

  it(`random and mutated requests at every route never draw a 5xx, always answer in the contract's shapes, never honour a token the server did not issue or a session a change, reset, deletion or admin ended, honour each mailed link at most once, and never show a password or token in the audit log (${RUNS} requests, seed ${SEED})`, async () => {
    const requests = requestArbitrary(
      () => victim,
      () => admin,
      () => t.nowSec(),
      () => second,
    );
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, path: requestPath, headers: given, body: makeBody }) => {
        const bare = routed(requestPath);
        const concrete = requestPath
          .replace('/sessions/SID', `/sessions/${victim.sid}`)
          .replaceAll('UID', encodeURIComponent(victim.id))
          .replace('CURSOR', encodeURIComponent(cursors.get(bare) ?? 'no-cursor-yet'));
        const headers = Object.fromEntries(Object.entries(given).map(([name, value]) => [name, (value as () => string)()]));
        const payload = makeBody === undefined ? undefined : (makeBody() as string | Buffer);
        let req = request(t.http)[method.toLowerCase() as 'get'](concrete);
        for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
        const res = payload === undefined ? await req : await req.send(payload as string);

        const sent = sentCredentials(concrete, headers, payload);
        const found = [...problems(method, requestPath, res), ...issued.breaches(method, bare, sent, res)];
        issued.note(res);
        issued.apply(method, bare, sent, res);
        if (method === 'GET' && res.status === 200 && typeof res.body?.next_cursor === 'string') cursors.set(bare, res.body.next_cursor);
        await readMail();
        if (found.length > 0) throw new Error(`${backend.name}: ${method} ${concrete} → ${res.status}: ${found.join('; ')} (FUZZ_SEED=${SEED})`);

        // Keep the second-factor user's mfa_token live: a new one once it signed in or was refused as
        // used or void; a new user once the failed-login limit stops its sign-ins.
        if (bare === '/login/mfa' && sent.bodyMfaToken === second.token && (res.status === 200 || res.status === 429 || res.body?.error === 'invalid_grant')) {
          if (res.status === 200) {
            second.lastAccepted = sent.bodyCode ?? second.lastAccepted;
            second.recoveryCodes = second.recoveryCodes.filter((code) => normalisedCode(code) !== normalisedCode(sent.bodyCode ?? ''));
          }
          const next = res.status === 429 ? null : await freshMfaToken(second.email);
          second = next === null ? await newSecondFactorUser() : { ...second, spentToken: second.token, token: next };
        }
        // Keep the victim's tokens current: a rotation of its refresh token replaces both.
        const presented = sent.bodyRefresh ?? sent.cookieRefresh;
        if (bare === '/refresh' && res.status === 200 && presented === victim.refresh) {
          victim = { ...victim, access: res.body.access_token, refresh: res.body.refresh_token ?? cookieToken(res) };
        }
        // A request that may have ended the victim's session: if it did, a new victim logs in, so
        // that the requests after it do not all meet a dead session.
        const mayHaveEnded =
          (res.status === 204 && (bare === '/logout' || bare === '/sessions/SID' || bare === '/profile' || bare === '/password/reset')) ||
          (res.status === 200 && bare === '/password/change') ||
          (bare === '/refresh' && res.status === 401 && presented !== undefined && issued.refresh.has(presented)) ||
          (res.status < 300 && bare.startsWith('/admin/users/UID') && (method === 'PATCH' || method === 'DELETE'));
        if (mayHaveEnded && (await request(t.http).get('/profile').set('Authorization', `Bearer ${victim.access}`)).status !== 200) {
          const next = await registerAndLogin(t.http);
          victim = victimOf(next.email, next.tokens);
          await readMail();
        }
        // The admin's own token may have logged out, changed its password or deleted its account:
        // then a new admin, so that the admin routes keep answering more than 403.
        const adminMayHaveEnded = sent.bearer === admin.access && res.status < 300 && !['GET', 'HEAD', 'OPTIONS'].includes(method);
        if (adminMayHaveEnded && (await request(t.http).get('/admin/audit?limit=1').set('Authorization', `Bearer ${admin.access}`)).status !== 200) {
          admin = await newAdmin();
          await readMail();
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // About 10 ms a request on a busy two-core machine; the bound leaves room for larger FUZZ_RUNS.
  }, 60_000 + RUNS * 60);

  it(`random logins, refreshes, replays, logouts, ended sessions, forged tokens and clock moves answer as the session model says (${STEPS} steps, seed ${SEED})`, async () => {
    const { jwt } = t.config;
    const runs = Math.max(1, Math.ceil(STEPS / STEPS_PER_RUN));
    const result = await runSessionFuzz(t, {
      seed: SEED,
      runs,
      steps: Math.ceil(STEPS / runs),
      lifetimes: { accessTtlSec: jwt.accessTtlSec, refreshTtlSec: jwt.refreshTtlSec, graceMs: jwt.reuseGraceMs },
      backend: backend.name,
    });
    process.stdout.write(`fuzz (${backend.name}), seed ${SEED}: ${fuzzSummary(result)}\n`);
    expect(result.steps).toBeGreaterThanOrEqual(STEPS);
  }, 60_000 + STEPS * 200);

  it(`random password changes, reset requests and resets, verifications, resends, deletions and clock moves answer as the account model says: no ended session's or deleted account's token honoured, each link at most once, only the new session after a change (${ACCOUNT_STEPS} steps, seed ${SEED})`, async () => {
    const clock = new FakeClock();
    const own = await target(recorder, ACCOUNT_FUZZ_ENV, { stores: await backend.open(clock), clock });
    const { jwt, mail } = own.config;
    const runs = Math.max(1, Math.ceil(ACCOUNT_STEPS / ACCOUNT_STEPS_PER_RUN));
    const result = await runAccountFuzz(own, {
      seed: SEED,
      runs,
      steps: Math.ceil(ACCOUNT_STEPS / runs),
      lifetimes: {
        accessTtlSec: jwt.accessTtlSec,
        refreshTtlSec: jwt.refreshTtlSec,
        cooldownMs: mail.cooldownMs,
        resetTtlMs: mail.passwordResetTtlMs,
        verificationTtlMs: mail.emailVerificationTtlMs,
      },
      backend: backend.name,
      recorder,
    });
    process.stdout.write(`account fuzz (${backend.name}), seed ${SEED}: ${fuzzSummary(result)}\n`);
    expect(result.steps).toBeGreaterThanOrEqual(ACCOUNT_STEPS);
    // About 150 ms a step (most steps hash a password once or twice).
  }, 60_000 + ACCOUNT_STEPS * 400);

  it(`random enrolments, confirmations, two-step sign-ins with real, replayed, old, foreign, wrong and recovery codes, forged and dead mfa_tokens, removals and clock moves answer as the second-factor model says: no step or recovery code accepted twice, no session from a wrong, replayed or foreign code, no mfa_token working twice (${MFA_STEPS} steps, seed ${SEED})`, async () => {
    const clock = new FakeClock();
    const own = await target(recorder, ACCOUNT_FUZZ_ENV, { stores: await backend.open(clock), clock });
    const runs = Math.max(1, Math.ceil(MFA_STEPS / MFA_STEPS_PER_RUN));
    const result = await runMfaFuzz(own, { seed: SEED, runs, steps: Math.ceil(MFA_STEPS / runs), backend: backend.name });
    process.stdout.write(`second-factor fuzz (${backend.name}), seed ${SEED}: ${fuzzSummary(result)}\n`);
    expect(result.steps).toBeGreaterThanOrEqual(MFA_STEPS);
    // About 20 ms a step (a refresh and a request or two; a bcrypt hash only at each login).
  }, 60_000 + MFA_STEPS * 300);

  it('left the server serving: /health, a new registration, a login and a protected route', async () => {
    expect((await request(t.http).get('/health')).body).toEqual({ status: 'ok' });
    const email = uniqueEmail('after-fuzz');
    expect((await request(t.http).post('/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(t.http).post('/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    const profile = await request(t.http).get('/profile').set('Authorization', `Bearer ${login.body.access_token}`);
    expect(profile.body.user.email).toBe(email);
  });

  auditResponses(recorder, { atLeast: RUNS });
  // PGlite is the SQL store again, behind seconds of start-up: where PostgreSQL answers, only with FUZZ_PGLITE=1.
}, { pglite: process.env.FUZZ_PGLITE === '1' ? 'always' : 'without-postgres' });
