// Rate limits: failed logins per (email, client address), the per-address ceiling on /login and /register, and refreshes per session.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { expectError, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';

const WRONG = 'not the password at all';

function attempt(app: AuthApp, email: string, password: string, forwardedFor?: string) {
  const req = request(app).post('/login');
  if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
  return req.send({ email, password });
}

/** Makes `count` failed logins and checks each one was an ordinary 401. */
async function fail(app: AuthApp, email: string, count: number, forwardedFor?: string) {
  for (let i = 0; i < count; i += 1) {
    expectError(await attempt(app, email, WRONG, forwardedFor), 401, 'invalid_credentials');
  }
}

/** The contract's 429: JSON body, a Retry-After in whole seconds, and the draft-8 headers of `policy`. */
function expectRateLimited(
  res: request.Response,
  policy: string,
  quota: number,
  windowSec: number,
  description = 'Too many attempts; try again later.',
) {
  const body = expectError(res, 429, 'rate_limited');
  expect(body.error_description).toBe(description);
  expect(res.headers['cache-control']).toBe('no-store');
  const retryAfter = res.headers['retry-after']!;
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowSec);
  expect(res.headers['ratelimit']).toContain(`"${policy}"; r=0; t=`);
  expect(res.headers['ratelimit-policy']).toContain(`"${policy}"; q=${quota}; w=${windowSec}`);
  return Number(retryAfter);
}

describe('failed logins per (email, address)', () => {
  it('refuses the 6th attempt after 5 failures with 429, even with the correct password, and opens no session', async () => {
    const { app, stores } = buildTestApp();
    const { email, user } = await register(app);
    await fail(app, email, 5);

    const res = await attempt(app, email, PASSWORD);
    expect(expectRateLimited(res, 'login', 5, 900)).toBe(900);
    expect(res.body.access_token).toBeUndefined();
    expect(await stores.sessions.listByUser(user.id)).toEqual([]);

    expectRateLimited(await attempt(app, email, WRONG), 'login', 5, 900);
  });

  it('counts an unknown email like a known one', async () => {
    const { app } = buildTestApp();
    const ghost = uniqueEmail('ghost');
    await fail(app, ghost, 5);
    expectRateLimited(await attempt(app, ghost, WRONG), 'login', 5, 900);
  });

  it('does not limit another email from the same address', async () => {
    const { app } = buildTestApp();
    const victim = await register(app);
    const other = await register(app);
    await fail(app, victim.email, 5);

    const res = await attempt(app, other.email, PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it('matches the limit on the normalised email, so case and spaces do not reset it', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    await fail(app, email, 5);
    expectRateLimited(await attempt(app, `  ${email.toUpperCase()} `, PASSWORD), 'login', 5, 900);
  });

  it('does not count successful logins against the allowance', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    await fail(app, email, 4);
    for (let i = 0; i < 8; i += 1) expect((await attempt(app, email, PASSWORD)).status).toBe(200);

    // The 5th failure is still allowed; only the attempt after it is refused.
    await fail(app, email, 1);
    expectRateLimited(await attempt(app, email, PASSWORD), 'login', 5, 900);
  });

  it('prints nothing when the store cannot take a hit back, logs it, and keeps answering (the hit stays: strict side)', async () => {
    const { app, stores, logs } = buildTestApp({ env: { LOG_LEVEL: 'warn' } });
    const { email } = await register(app);
    stores.rateLimits.decrement = () => Promise.reject(new Error('store away'));
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect((await attempt(app, email, PASSWORD)).status).toBe(200);
      // The take-back runs after the answer: a second request gives it time to settle.
      expect((await attempt(app, email, PASSWORD)).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(printed).not.toHaveBeenCalled();
      const warnings = logs.map((line) => JSON.parse(line) as { level: number; msg: string; limiter?: string });
      expect(warnings.filter((line) => line.msg.startsWith('rate limit: a hit could not be taken back'))).toEqual([
        expect.objectContaining({ level: 40, limiter: 'rl:login:' }),
        expect.objectContaining({ level: 40, limiter: 'rl:login:' }),
      ]);
      expect(logs.join('\n')).not.toContain(email);
    } finally {
      printed.mockRestore();
    }
  });

  it('counts Retry-After down with the clock and lets the user in once the window has passed', async () => {
    const { app, clock } = buildTestApp();
    const { email } = await register(app);
    await fail(app, email, 5);
    expect(expectRateLimited(await attempt(app, email, PASSWORD), 'login', 5, 900)).toBe(900);

    clock.advanceSeconds(300);
    expect(expectRateLimited(await attempt(app, email, PASSWORD), 'login', 5, 900)).toBe(600);

    clock.advanceSeconds(600);
    const res = await attempt(app, email, PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  it('follows LOGIN_RATE_LIMIT_MAX and LOGIN_RATE_LIMIT_WINDOW', async () => {
    const { app, clock } = buildTestApp({ env: { LOGIN_RATE_LIMIT_MAX: '2', LOGIN_RATE_LIMIT_WINDOW: '1m' } });
    const { email } = await register(app);
    await fail(app, email, 2);
    expect(expectRateLimited(await attempt(app, email, PASSWORD), 'login', 2, 60)).toBe(60);
    clock.advanceSeconds(61);
    expect((await attempt(app, email, PASSWORD)).status).toBe(200);
  });

  it('ignores X-Forwarded-For when TRUST_PROXY is unset, so a new forwarded address does not reset the limit', async () => {
    const { app } = buildTestApp();
    const { email } = await register(app);
    await fail(app, email, 5, '198.51.100.1');
    expectRateLimited(await attempt(app, email, PASSWORD, '198.51.100.2'), 'login', 5, 900);
    expectRateLimited(await attempt(app, email, PASSWORD), 'login', 5, 900);
  });

  it('counts each X-Forwarded-For address separately with TRUST_PROXY=1', async () => {
    const { app } = buildTestApp({ env: { TRUST_PROXY: '1' } });
    const { email } = await register(app);
    await fail(app, email, 5, '198.51.100.1');
    expectRateLimited(await attempt(app, email, PASSWORD, '198.51.100.1'), 'login', 5, 900);

    const elsewhere = await attempt(app, email, PASSWORD, '198.51.100.2');
    expect(elsewhere.status).toBe(200);
  });
});

describe('the per-address ceiling on /login and /register', () => {
  /** Uses up RATE_LIMIT_MAX=3 from one address: a registration, a login and another registration. */
  async function exhaust(app: AuthApp, forwardedFor?: string) {
    const email = uniqueEmail('ceiling');
    const via = (req: request.Test) => (forwardedFor ? req.set('X-Forwarded-For', forwardedFor) : req);
    expect((await via(request(app).post('/register')).send({ email, password: PASSWORD })).status).toBe(201);
    const login = await via(request(app).post('/login')).send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    const registered = await via(request(app).post('/register')).send({ email: uniqueEmail(), password: PASSWORD });
    expect(registered.status).toBe(201);
    return { email, tokens: login.body as { refresh_token: string; access_token: string } };
  }

  it('answers the 4th request to either of them from one address by 429 with RATE_LIMIT_MAX=3', async () => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '3' } });
    const { email } = await exhaust(app);

    expectRateLimited(await attempt(app, email, PASSWORD), 'address', 3, 900);
    const registerRes = await request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD });
    expectRateLimited(registerRes, 'address', 3, 900);
  });

  it('counts refused and invalid requests too, but leaves /refresh, /logout and other routes alone', async () => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '3' } });
    const { tokens } = await exhaust(app);

    expectRateLimited(await request(app).post('/login').send({}), 'address', 3, 900);
    expect((await request(app).get('/profile').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
    const refreshed = await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await request(app).post('/logout').send({ refresh_token: refreshed.body.refresh_token })).status).toBe(204);
  });

  it('keeps other addresses and the next window open', async () => {
    const { app, clock } = buildTestApp({ env: { RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' } });
    const { email } = await exhaust(app, '198.51.100.7');
    expectRateLimited(await attempt(app, email, PASSWORD, '198.51.100.7'), 'address', 3, 900);

    expect((await attempt(app, email, PASSWORD, '198.51.100.8')).status).toBe(200);
    clock.advanceSeconds(901);
    expect((await attempt(app, email, PASSWORD, '198.51.100.7')).status).toBe(200);
  });
});

describe('the per-session refresh limit', () => {
  const SESSION_LIMITED = 'This session has refreshed too often; try again later.';

  async function loggedIn(app: AuthApp) {
    const email = uniqueEmail('refresher');
    await app.services.accounts.register(email, PASSWORD);
    const login = await attempt(app, email, PASSWORD);
    expect(login.status).toBe(200);
    return { email, refreshToken: login.body.refresh_token as string };
  }

  /** Refreshes the chain `times` times, each answered 200; returns the current refresh token. */
  async function refreshTimes(app: AuthApp, refreshToken: string, times: number): Promise<string> {
    let token = refreshToken;
    for (let i = 0; i < times; i += 1) {
      const res = await request(app).post('/refresh').send({ refresh_token: token });
      expect(res.status).toBe(200);
      token = res.body.refresh_token as string;
    }
    return token;
  }

  it('tells each refresh what is left of the session\'s allowance in the draft-8 headers', async () => {
    const { app } = buildTestApp({ env: { REFRESH_RATE_LIMIT_MAX: '5', REFRESH_RATE_LIMIT_WINDOW: '10m' } });
    const { refreshToken } = await loggedIn(app);
    const first = await request(app).post('/refresh').send({ refresh_token: refreshToken });
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit']).toBe('"session"; r=4; t=600');
    expect(first.headers['ratelimit-policy']).toBe('"session"; q=5; w=600');
  });

  it('answers the refresh past REFRESH_RATE_LIMIT_MAX by 429 with Retry-After, and the same token refreshes once the window has passed', async () => {
    const { app, clock } = buildTestApp({ env: { REFRESH_RATE_LIMIT_MAX: '3', REFRESH_RATE_LIMIT_WINDOW: '10m' } });
    const { refreshToken } = await loggedIn(app);
    const current = await refreshTimes(app, refreshToken, 3);
    clock.advanceSeconds(60);

    const limited = await request(app).post('/refresh').send({ refresh_token: current });
    expect(expectRateLimited(limited, 'session', 3, 600, SESSION_LIMITED)).toBe(540);
    clock.advanceSeconds(540);
    expect((await request(app).post('/refresh').send({ refresh_token: current })).status).toBe(200);
  });

  it('limits one session only: another session from the same address still refreshes', async () => {
    const { app } = buildTestApp({ env: { REFRESH_RATE_LIMIT_MAX: '2' } });
    const first = await loggedIn(app);
    const second = await loggedIn(app);
    const current = await refreshTimes(app, first.refreshToken, 2);
    expectRateLimited(await request(app).post('/refresh').send({ refresh_token: current }), 'session', 2, 900, SESSION_LIMITED);

    await refreshTimes(app, second.refreshToken, 2);
  });

  it('never spends the sign-in budget: 101 refreshes from one address leave the next user\'s login open', async () => {
    const { app } = buildTestApp({ env: { RATE_LIMIT_MAX: '100', REFRESH_RATE_LIMIT_MAX: '1000' } });
    const { refreshToken } = await loggedIn(app);
    await refreshTimes(app, refreshToken, 101);

    const email = uniqueEmail('next-user');
    await app.services.accounts.register(email, PASSWORD);
    expect((await attempt(app, email, PASSWORD)).status).toBe(200);
  });
});
