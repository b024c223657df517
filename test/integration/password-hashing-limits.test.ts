// Bounded, fair password hashing: sign-ins beyond PASSWORD_HASH_QUEUE (or an address's share of it) get 503 with Retry-After, and a flood from one address never turns another's into a 503.
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { eventually } from '../helpers/eventually';
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

/** An answer as a client sees it. */
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** POSTs JSON over a connection of its own from `localAddress` (any 127.x.y.z reaches the server on Linux). */
function postFrom(port: number, localAddress: string, path: string, body: object): Promise<Answer> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/**
 * Wrong logins (each of an unknown email, as credential stuffing sends them, so that no per-account
 * limit steps in) from `localAddress`, `parallel` at a time, each answered one replaced by the
 * next, until `stop()`; at most `max` in all. Resolves with every answer.
 */
function flood(port: number, localAddress: string, parallel: number, max = 5000) {
  let stopped = false;
  let sent = 0;
  const answers: Answer[] = [];
  const lane = async () => {
    while (!stopped && sent < max) {
      sent += 1;
      answers.push(await postFrom(port, localAddress, '/login', { email: uniqueEmail('stuffing'), password: 'a wrong password here' }));
    }
  };
  const done = Promise.all(Array.from({ length: parallel }, lane)).then(() => answers);
  return { stop: () => ((stopped = true), done), answers };
}

/** Every flood answer is a 401 (its password was checked) or the contract's 503 with Retry-After. */
function expectOnlyRefusals(answers: Answer[]) {
  const statuses = new Set(answers.map((answer) => answer.status));
  expect([...statuses].sort()).toEqual([401, 503]);
  for (const answer of answers.filter((each) => each.status === 503)) {
    expect(answer.body).toEqual({ error: 'unavailable', error_description: 'Too many sign-ins at once; try again in a moment.' });
    expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  }
}

describe('fair sign-ins between client addresses (a real server, real sockets from several loopback addresses)', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(app: AuthApp): Promise<number> {
    server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  it('answers a correct login from 127.0.0.2 with 200, and a registration from 127.0.0.3 with 201, while 45 parallel wrong logins from 127.0.0.30 go on', async () => {
    // The defaults of PASSWORD_HASH_QUEUE (32) and PASSWORD_HASH_QUEUE_PER_ADDRESS (4), one hashing slot.
    const { app } = buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1' } });
    const { email } = await register(app);
    const port = await listen(app);

    const attack = flood(port, '127.0.0.30', 45);
    // The flood holds all the queue it may: its share, not the queue.
    await eventually(() => app.services.hashGate.queuedFor('127.0.0.30') === 4);
    expect(app.services.hashGate.queued).toBe(4);

    const [loggedIn, registered] = await Promise.all([
      postFrom(port, '127.0.0.2', '/login', { email, password: PASSWORD }),
      postFrom(port, '127.0.0.3', '/register', { email: uniqueEmail('newcomer'), password: PASSWORD }),
    ]);
    // Still under way when both were answered: they waited beside it, not after it.
    expect(app.services.hashGate.queuedFor('127.0.0.30')).toBeGreaterThan(0);
    const answers = await attack.stop();

    expect(loggedIn.status).toBe(200);
    expect(loggedIn.body).toMatchObject({ token_type: 'Bearer', user: { email } });
    expect(registered.status).toBe(201);
    expectOnlyRefusals(answers);
  });

  it('still answers 200 when several addresses flood at once and fill the whole queue: the longest line gives up a place', async () => {
    const { app } = buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '4', PASSWORD_HASH_QUEUE_PER_ADDRESS: '2' } });
    const { email } = await register(app);
    const port = await listen(app);

    const attacks = ['127.0.0.30', '127.0.0.31'].map((address) => flood(port, address, 10));
    await eventually(() => app.services.hashGate.queued === 4);
    const logins = await Promise.all(['127.0.0.2', '127.0.0.4'].map((address) => postFrom(port, address, '/login', { email, password: PASSWORD })));
    const answers = (await Promise.all(attacks.map((attack) => attack.stop()))).flat();

    expect(logins.map((login) => login.status)).toEqual([200, 200]);
    expectOnlyRefusals(answers);
  });

  it('answers one address over its share 503 with Retry-After before reading its body, while the queue has room for others', async () => {
    const { app } = buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '8', PASSWORD_HASH_QUEUE_PER_ADDRESS: '1' } });
    const { email } = await register(app);
    const port = await listen(app);
    const slot = holdTheSlot(app);

    const waiting = postFrom(port, '127.0.0.30', '/login', { email, password: PASSWORD });
    await eventually(() => app.services.hashGate.queuedFor('127.0.0.30') === 1);
    const over = await postFrom(port, '127.0.0.30', '/login', { email, password: PASSWORD });
    expect(over.status).toBe(503);
    expect(over.body).toEqual({ error: 'unavailable', error_description: 'Too many sign-ins at once; try again in a moment.' });
    expect(over.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    // The per-address limiter never saw it: no RateLimit header.
    expect(over.headers.ratelimit).toBeUndefined();

    const other = postFrom(port, '127.0.0.2', '/login', { email, password: PASSWORD });
    await eventually(() => app.services.hashGate.queuedFor('127.0.0.2') === 1);
    await slot.release();
    expect((await waiting).status).toBe(200);
    expect((await other).status).toBe(200);
  });
});
