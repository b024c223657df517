// Bounded password hashing: logins and registrations beyond PASSWORD_HASH_QUEUE get 503 with Retry-After, and nothing else changes.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { expectError, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { createConformance } from '../helpers/openapi-conformance';

/** One hashing slot and a queue of `queue`, as a busy server would have them. */
function busyServer(queue: number, env: Record<string, string> = {}) {
  return buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: String(queue), ...env } });
}

/** Takes the gate's only slot until `release` is called: every login behind it waits or is refused. */
function holdTheSlot(app: AuthApp) {
  let release!: () => void;
  const held = app.services.hashGate.run(() => new Promise<void>((resolve) => (release = resolve)));
  return { release: async () => (release(), held) };
}

/** Waits until `count` jobs wait in the gate's queue (a request is on its way through the middleware). */
async function untilQueued(app: AuthApp, count: number) {
  for (let i = 0; i < 500 && app.services.hashGate.queued < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(app.services.hashGate.queued).toBe(count);
}

function login(app: AuthApp, email: string, password = PASSWORD) {
  return request(app).post('/login').send({ email, password });
}

/** The contract's 503 for a full hashing queue. */
function expectBusy(res: request.Response) {
  const body = expectError(res, 503, 'unavailable');
  expect(body).toEqual({ error: 'unavailable', error_description: 'Too many sign-ins at once; try again in a moment.' });
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['set-cookie']).toBeUndefined();
}

describe('password hashing at capacity', () => {
  it('answers a login 503 unavailable with Retry-After when the slot is taken and the queue full, and opens no session', async () => {
    const { app, stores } = busyServer(0);
    const { email, user } = await register(app);
    const slot = holdTheSlot(app);

    const res = await login(app, email);
    expectBusy(res);
    expect(res.body.access_token).toBeUndefined();
    expect(await stores.sessions.listByUser(user.id)).toEqual([]);

    await slot.release();
    const after = await login(app, email);
    expect(after.status).toBe(200);
    expect(after.body.token_type).toBe('Bearer');
  });

  it('answers an unknown email exactly as a known one, so a 503 tells nothing about which emails exist', async () => {
    const { app } = busyServer(0);
    const { email } = await register(app);
    const slot = holdTheSlot(app);

    const known = await login(app, email);
    const unknown = await login(app, uniqueEmail('ghost'));
    expectBusy(known);
    expectBusy(unknown);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.headers['retry-after']).toBe(known.headers['retry-after']);
    await slot.release();
  });

  it('answers a registration 503 too, and the email stays free to register once the queue has room', async () => {
    const { app, stores } = busyServer(0);
    const email = uniqueEmail();
    const slot = holdTheSlot(app);

    expectBusy(await request(app).post('/register').send({ email, password: PASSWORD }));
    expect(await stores.users.findByEmail(email)).toBeNull();

    await slot.release();
    const res = await request(app).post('/register').send({ email, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(email);
  });

  it('lets a login wait in the queue and answers it once hashed, while the one after it gets 503', async () => {
    const { app } = busyServer(1);
    const { email } = await register(app);
    const slot = holdTheSlot(app);

    const queued = login(app, email).then((res) => res);
    await untilQueued(app, 1);
    expectBusy(await login(app, email));

    await slot.release();
    const res = await queued;
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
    expect(app.services.hashGate.active).toBe(0);
  });

  it('does not count a 503 as a failed login: the failed-login allowance stays whole', async () => {
    const { app } = busyServer(0, { LOGIN_RATE_LIMIT_MAX: '2' });
    const { email } = await register(app);
    const slot = holdTheSlot(app);
    for (let i = 0; i < 3; i += 1) expectBusy(await login(app, email));
    await slot.release();

    expectError(await login(app, email, 'not the password at all'), 401, 'invalid_credentials');
    expectError(await login(app, email, 'not the password at all'), 401, 'invalid_credentials');
    expectError(await login(app, email, PASSWORD), 429, 'rate_limited');
  });

  it('answers the 503 of /login and /register as the OpenAPI document describes it', async () => {
    const { app } = busyServer(0);
    const conformance = createConformance((await request(app).get('/openapi.json')).body);
    const { email } = await register(app);
    const slot = holdTheSlot(app);
    const refusals = [await login(app, email), await request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD })];
    for (const res of refusals) {
      expectBusy(res);
      conformance.check(res);
    }
    await slot.release();
  });

  it('turns a login or registration away before reading or counting it: even a malformed body gets the 503', async () => {
    const { app } = busyServer(0, { RATE_LIMIT_MAX: '1' });
    const slot = holdTheSlot(app);
    for (const path of ['/login', '/register']) {
      const res = await request(app).post(path).set('Content-Type', 'application/json').send('{"email":');
      expectBusy(res);
      // The per-address limiter never saw it: no RateLimit header, and its one request is still unused.
      expect(res.headers.ratelimit).toBeUndefined();
    }
    await slot.release();
    // The first request the limiter counts: it takes the one allowed, so none remains.
    const after = await request(app).post('/login').send({});
    expectError(after, 400, 'invalid_request');
    expect(after.headers.ratelimit).toMatch(/^"address"; r=0; t=\d+$/);
  });

  it('logs a refused sign-in in its one request line, without a stack trace: a flood of them is no flood of errors', async () => {
    const { app, logs } = busyServer(0);
    const slot = holdTheSlot(app);
    logs.length = 0;
    const res = await login(app, uniqueEmail());
    expectBusy(res);
    const lines = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request errored', req: expect.objectContaining({ method: 'POST', path: '/login' }), res: { status: 503 } }),
    ]);
    expect(logs.join('\n')).not.toMatch(/stack|hash-gate/);
    await slot.release();
  });

  it('answers a closed registration 404, however busy hashing is', async () => {
    const { app } = busyServer(0, { ALLOW_REGISTRATION: 'false' });
    const slot = holdTheSlot(app);
    expectError(await request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD }), 404, 'not_found');
    await slot.release();
  });

  it('never refuses a login that finds the slot free, even with a queue of 0', async () => {
    const { app } = busyServer(0);
    const { email } = await register(app);
    for (let i = 0; i < 3; i += 1) expect((await login(app, email)).status).toBe(200);
  });
});
