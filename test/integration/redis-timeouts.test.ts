// The README's one-second Redis figures, timed over HTTP: 503 after the 1 s command timeout (at once when disconnected), reconnection at most a second apart, a silent feed dropped after 1 s.
import request from 'supertest';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, login, PASSWORD, register } from '../helpers/fixtures';
import { deleteKeys, describeWithRedis, openRedisStores, uniquePrefix } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';

/**
 * The bounds: the README says 1 s, so a 503 must take at least 0.9 s (the timeout is not shorter,
 * nor is the request failed at once while the connection looks healthy) and at most 2 s (one
 * timeout, not several in a row, and never a hang); the slack above 1 s is the event-loop lag of
 * a busy two-core machine.
 */
const TIMEOUT_MS = { min: 900, max: 2000 };

describeWithRedis('a Redis that stops answering (README: "fail immediately while disconnected and time out after 1 s", "retrying at most every second", "a PING each second, dropped after 1 s of silence")', (url) => {
  const prefix = uniquePrefix();
  let proxy: TcpProxy;

  beforeEach(async () => {
    proxy = await TcpProxy.start(url);
  });

  afterEach(() => proxy.close());
  afterAll(() => deleteKeys(url, prefix));

  async function instance() {
    const clock = new FakeClock();
    const stores = await openRedisStores(proxy.urlFor(url), prefix, clock);
    return { ...buildTestApp({ clock, stores }), stores };
  }

  async function timed(send: () => request.Test) {
    const started = performance.now();
    const res = await send().timeout(10_000);
    return { status: res.status, body: res.body as unknown, ms: performance.now() - started };
  }

  const unavailable = { error: 'unavailable', error_description: 'A backing store is unreachable.' };

  it.each([
    ['GET /ready', (app: Parameters<typeof request>[0]) => request(app).get('/ready')],
    ['POST /login', (app: Parameters<typeof request>[0]) => request(app).post('/login').send({ email: 'silent@example.com', password: PASSWORD })],
  ])('answers %s 503 after one command timeout of about 1 s (0.9–2 s), not at once and not never', async (_route, send) => {
    const { app, stores } = await instance();
    try {
      expect((await request(app).get('/ready')).status).toBe(200);
      proxy.set('frozen');
      const res = await timed(() => send(app));
      expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: unavailable });
      expect({ ms: Math.round(res.ms), within: res.ms >= TIMEOUT_MS.min && res.ms <= TIMEOUT_MS.max }).toEqual({ ms: expect.any(Number), within: true });
    } finally {
      proxy.set('down');
      await stores.close();
    }
  });

  it('answers 503 at once (under 0.5 s, not after the 1 s timeout) while the connection is down, and serves again within about a second (under 2 s) of Redis coming back', async () => {
    const { app, stores } = await instance();
    try {
      proxy.set('down');
      // Until the client has seen its connection close, a command could still wait for the timeout.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const res = await timed(() => request(app).post('/login').send({ email: 'down@example.com', password: PASSWORD }));
      expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: unavailable });
      expect({ ms: Math.round(res.ms), within: res.ms < 500 }).toEqual({ ms: expect.any(Number), within: true });

      // Three seconds down: the reconnection attempts have reached their one-second spacing.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      proxy.set('up');
      const upAt = performance.now();
      while ((await request(app).get('/ready')).status !== 200 && performance.now() - upAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
      const backAfter = performance.now() - upAt;
      expect({ ms: Math.round(backAfter), within: backAfter <= 2000 }).toEqual({ ms: expect.any(Number), within: true });
    } finally {
      proxy.set('down');
      await stores.close();
    }
  });

  it('stops trusting its copy of ended sessions 1–3 s after Redis falls silent (a PING each second, 1 s to answer), then 503s the access token', async () => {
    const { app, stores } = await instance();
    try {
      const { email } = await register(app);
      const tokens = await login(app, email);
      expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).status).toBe(200);

      proxy.set('frozen');
      const frozenAt = performance.now();
      // Polled every 20 ms: the copy is trusted until the heartbeat's PING has gone 1 s unanswered.
      while (stores.revocations.isCurrent && performance.now() - frozenAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
      const droppedAfter = performance.now() - frozenAt;
      // At least one second of silence (the PING's timeout); at most a second's wait for the next
      // PING plus that second, with the same slack as above.
      expect({ ms: Math.round(droppedAfter), within: droppedAfter >= 900 && droppedAfter <= 3000 }).toEqual({ ms: expect.any(Number), within: true });

      const profile = await timed(() => request(app).get('/profile').set(...bearer(tokens.access_token)));
      expect({ status: profile.status, body: profile.body }).toEqual({ status: 503, body: unavailable });
    } finally {
      proxy.set('down');
      await stores.close();
    }
  });
});
