// Property-based fuzzing (fast-check): random and mutated requests at every route never draw a 5xx, always the contract's shapes, and the server keeps serving.
import fc from 'fast-check';
import request from 'supertest';
import type { z } from 'zod';
import { ERROR_TABLE, type ErrorCode } from '../../src/errors';
import {
  errorSchema,
  healthSchema,
  introspectionSchema,
  jwkSetSchema,
  readySchema,
  sessionListSchema,
  tokenResponseSchema,
  userListSchema,
  userResponseSchema,
} from '../../src/http/response-schemas';
import { auditResponses, CLIENT, ResponseRecorder, target, type Target } from '../helpers/attack';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures';

/** Fixed, so a failure replays; FUZZ_SEED and FUZZ_RUNS explore further (`FUZZ_SEED=7 FUZZ_RUNS=5000 npx jest test/security/fuzz`). */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

const recorder = new ResponseRecorder();
let t: Target;

beforeAll(async () => {
  t = await target(recorder);
});

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** The routes of the contract, with the paths of the pages and their assets. */
const PATHS = [
  '/register',
  '/login',
  '/refresh',
  '/logout',
  '/profile',
  '/sessions',
  '/sessions/SID',
  '/admin/users',
  '/health',
  '/ready',
  '/introspect',
  '/.well-known/jwks.json',
  '/openapi.json',
  '/docs',
  '/docs/swagger-ui.css',
  '/',
  '/demo/app.js',
];

/** The documented success of each route: its body's schema (null: no body; 'page': HTML, CSS or JS). */
function successSchema(method: Method, path: string): z.ZodType | null | 'page' | 'document' {
  const route = `${method === 'HEAD' ? 'GET' : method} ${path.startsWith('/sessions/') ? '/sessions/:id' : path}`;
  const table: Record<string, z.ZodType | null | 'page' | 'document'> = {
    'POST /register': userResponseSchema,
    'POST /login': tokenResponseSchema,
    'POST /refresh': tokenResponseSchema,
    'POST /logout': null,
    'GET /profile': userResponseSchema,
    'GET /sessions': sessionListSchema,
    'DELETE /sessions/:id': null,
    'GET /admin/users': userListSchema,
    'GET /health': healthSchema,
    'GET /ready': readySchema,
    'POST /introspect': introspectionSchema,
    'GET /.well-known/jwks.json': jwkSetSchema,
    'GET /openapi.json': 'document',
  };
  if (route in table) return table[route]!;
  return path === '/' || path.startsWith('/docs') || path.startsWith('/demo/') ? 'page' : null;
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });
const urlSafe = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~%/?=&+'.split('')), maxLength: 30 });

/** Small changes to a real token: a character flipped, cut, doubled, or a segment swapped. */
function mutatedToken(token: () => string) {
  return fc.tuple(fc.nat(), fc.constantFrom('flip', 'cut', 'append', 'swap', 'none-alg')).map(([at, how]) => {
    const real = token();
    const i = at % real.length;
    if (how === 'flip') return `${real.slice(0, i)}${real[i] === 'A' ? 'B' : 'A'}${real.slice(i + 1)}`;
    if (how === 'cut') return real.slice(0, i);
    if (how === 'append') return `${real}${real.slice(i)}`;
    if (how === 'swap') return real.split('.').reverse().join('.');
    return `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${real.split('.')[1]}.`;
  });
}

const access = () => t.victim.tokens.access_token;
const refreshToken = () => t.victim.tokens.refresh_token;
const sid = () => String(t.claims.sid);

const authorization = fc.oneof(
  fc.constant(() => `Bearer ${access()}`),
  mutatedToken(access).map((token) => () => `Bearer ${token}`),
  mutatedToken(refreshToken).map((token) => () => `Bearer ${token}`),
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
    Cookie: fc
      .oneof(
        fc.constant(() => `refresh_token=${refreshToken()}`),
        mutatedToken(refreshToken).map((token) => () => `refresh_token=${token}`),
        printable.map((text) => () => text),
      ),
    'X-Forwarded-For': printable.map((value) => () => value),
    'X-Request-Id': printable.map((value) => () => value),
  },
  { requiredKeys: [] },
);

/** A body a route accepts, to mutate. */
const validBodies = (): Record<string, unknown>[] => [
  { email: t.victim.email, password: PASSWORD },
  { email: uniqueEmail('fuzz'), password: PASSWORD },
  { refresh_token: refreshToken() },
  { refresh_token: refreshToken(), scope: 'others' },
  { token: access() },
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
  fc.uint8Array({ maxLength: 300 }).map((bytes) => () => Buffer.from(bytes)),
  fc.constant(() => `{"pad":"${'x'.repeat(11 * 1024)}"}`),
);

const path = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...PATHS), urlSafe).map(([base, suffix]) => `${base}${suffix.startsWith('?') ? '' : '/'}${suffix}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PATHS), fc.constantFrom('access_token', 'refresh_token', '__proto__[role]')).map(([base, name]) => `${base}?${name}=x`) },
  { weight: 1, arbitrary: urlSafe.map((text) => `/${text}`) },
);

const requests = fc.record({ method: fc.constantFrom(...METHODS), path, headers, body });

/** What must hold of every answer; returns the problems found (empty when it conforms). */
function problems(method: Method, requestPath: string, res: request.Response): string[] {
  const found: string[] = [];
  const type = res.headers['content-type'];
  if (res.status >= 500) found.push(`status ${res.status}`);
  // Express routes without regard to case or a trailing slash.
  const bare = (requestPath.split('?')[0]!.replace(/\/sessions\/.+$/, '/sessions/SID').replace(/\/+$/, '') || '/').toLowerCase();
  if (res.status >= 400) {
    if (method === 'HEAD') return found;
    if (type !== 'application/json; charset=utf-8') found.push(`error Content-Type ${type}`);
    const parsed = errorSchema.safeParse(res.body);
    if (!parsed.success) found.push(`error body ${res.text.slice(0, 200)}`);
    else if (ERROR_TABLE[parsed.data.error as ErrorCode].status !== res.status) found.push(`${parsed.data.error} with ${res.status}`);
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

describe('random and mutated requests at every route', () => {
  it(`never draw a 5xx and always answer in the contract's shapes (${RUNS} requests, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, path: requestPath, headers: given, body: makeBody }) => {
        const concrete = requestPath.replace('/sessions/SID', `/sessions/${sid()}`);
        let req = request(t.http)[method.toLowerCase() as 'get'](concrete);
        for (const [name, value] of Object.entries(given)) req = req.set(name, (value as () => string)());
        const res = makeBody === undefined ? await req : await req.send(makeBody() as string);
        const found = problems(method, requestPath, res);
        if (found.length > 0) throw new Error(`${method} ${concrete} → ${res.status}: ${found.join('; ')}`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // About 5 s alone; the bound leaves room for a busy CI machine and larger FUZZ_RUNS.
  }, 60_000 + RUNS * 60);

  it('left the server serving: /health, a new registration, a login and a protected route', async () => {
    expect((await request(t.http).get('/health')).body).toEqual({ status: 'ok' });
    const email = uniqueEmail('after-fuzz');
    expect((await request(t.http).post('/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(t.http).post('/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    const profile = await request(t.http).get('/profile').set('Authorization', `Bearer ${login.body.access_token}`);
    expect(profile.body.user.email).toBe(email);
  });
});

auditResponses(recorder, { atLeast: RUNS });
