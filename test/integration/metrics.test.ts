// GET /metrics: the Prometheus scrape read with a real parser — outcomes, route patterns, the hashing queue, the token guard, METRICS_TOKEN.
import parsePrometheus, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { totpCode } from '../../src/auth/totp';
import { loadConfig } from '../../src/config';
import { buildTestApp } from '../helpers/build-app';
import { configError } from '../helpers/config-errors';
import { bearer, expectError, login, PASSWORD, register, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { eventually } from '../helpers/eventually';
import { TEST_ENV } from '../helpers/test-config';

/** prom-client's Registry.contentType: the text format 0.0.4. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const TOKEN = 'mt-Zp4mQ8vB2nX6cW1rT9yK3hL7jF5dS0gA-scrape';
const MFA_KEY = 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=';

/** A scrape, read with the parser: its families by name, and the raw text. */
async function scrape(app: AuthApp, token?: string) {
  const req = request(app).get('/metrics');
  const res = await (token === undefined ? req : req.set(...bearer(token)));
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({ status: 200, type: CONTENT_TYPE });
  const families = new Map(parsePrometheus(res.text).map((family) => [family.name, family]));
  return { families, text: res.text };
}

function family(families: Map<string, ParsedFamily>, name: string): ParsedFamily {
  const found = families.get(name);
  if (!found) throw new Error(`no ${name} in the scrape`);
  return found;
}

/** The samples of a family by one label's value (a counter by outcome), as numbers. */
function byLabel(found: ParsedFamily, label: string): Record<string, number> {
  return Object.fromEntries(found.metrics.map((sample) => [sample.labels?.[label], Number(sample.value)]));
}

/**
 * The samples of one series of the scrape (`http_request_duration_seconds_count`), read by the
 * parser as untyped lines: it folds a histogram's label sets into one (parse-prometheus-text-format
 * 1.1.1 keeps only `le`), while each line on its own it reads in full.
 */
function samplesOf(text: string, series: string): ParsedSample[] {
  const lines = text.split('\n').filter((line) => line.startsWith(`${series}{`));
  return parsePrometheus(`${lines.join('\n')}\n`).flatMap((found) => found.metrics);
}

/** The request-duration histogram's label sets, each with its count. */
function durations(text: string): { method: string; route: string; status: string; count: number }[] {
  return samplesOf(text, 'http_request_duration_seconds_count').map((sample) => ({
    method: sample.labels!.method!,
    route: sample.labels!.route!,
    status: sample.labels!.status!,
    count: Number(sample.value),
  }));
}

/** Every label value of every sample line in the scrape (each line read on its own, as in samplesOf). */
function labelValues(text: string): string[] {
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return parsePrometheus(`${lines.join('\n')}\n`).flatMap((found) => found.metrics.flatMap((sample) => Object.values(sample.labels ?? {})));
}

/** Only the outcomes that happened: the series created at zero are there from the start. */
function happened(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));
}

describe('GET /metrics', () => {
  it('counts sign-ins by outcome, read from the answers of /login and /login/mfa', async () => {
    const { app, clock } = buildTestApp({ env: { MFA_ENCRYPTION_KEY: MFA_KEY, LOGIN_RATE_LIMIT_MAX: '2' } });
    const plain = await register(app);
    await login(app, plain.email);
    expectError(await request(app).post('/login').send({ email: plain.email, password: 'wrong password here' }), 401, 'invalid_credentials');
    expectError(await request(app).post('/login').send({ email: plain.email, password: 'wrong password here' }), 401, 'invalid_credentials');
    expectError(await request(app).post('/login').send({ email: plain.email, password: PASSWORD }), 429, 'rate_limited');
    expectError(await request(app).post('/login').send({ email: uniqueEmail('nobody'), password: PASSWORD }), 401, 'invalid_credentials');

    // A second factor: enrolled after a first sign-in, then the password asks for it.
    const { email, tokens } = await registerAndLogin(app);
    const secret = (await request(app).post('/mfa/totp').set(...bearer(tokens.access_token))).body.secret as string;
    expect((await request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(secret, clock.now()) })).status).toBe(200);
    clock.advanceSeconds(30);
    const challenge = await request(app).post('/login').send({ email, password: PASSWORD });
    expect(challenge.status).toBe(403);
    const code = totpCode(secret, clock.now());
    const wrong = code === '000000' ? '111111' : '000000';
    expectError(await request(app).post('/login/mfa').send({ mfa_token: challenge.body.mfa_token, code: wrong }), 401, 'invalid_mfa_code');
    expect((await request(app).post('/login/mfa').send({ mfa_token: challenge.body.mfa_token, code })).status).toBe(200);

    // The hashing queue full (one slot, no queue, the slot held): a sign-in is shed before its body is read.
    const shed = buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '0' } }).app;
    let release = () => {};
    const held = shed.services.hashGate.run(() => new Promise<void>((resolve) => (release = resolve)));
    expectError(await request(shed).post('/login').send({ email: plain.email, password: PASSWORD }), 503, 'unavailable');
    release();
    await held;

    const unverified = buildTestApp({ env: { REQUIRE_EMAIL_VERIFICATION: 'true' } }).app;
    const account = await register(unverified);
    expectError(await request(unverified).post('/login').send({ email: account.email, password: PASSWORD }), 403, 'email_not_verified');

    const { families } = await scrape(app);
    const logins = family(families, 'auth_logins_total');
    expect(logins.type).toBe('COUNTER');
    expect(happened(byLabel(logins, 'outcome'))).toEqual({
      success: 3,
      invalid_credentials: 3,
      rate_limited: 1,
      mfa_required: 1,
      invalid_mfa_code: 1,
    });
    // Created at zero: a rate or an alert sees the series before its first event.
    expect(byLabel(logins, 'outcome')).toMatchObject({ email_not_verified: 0, account_disabled: 0, unavailable: 0 });
    expect(happened(byLabel(family((await scrape(shed)).families, 'auth_logins_total'), 'outcome'))).toEqual({ unavailable: 1 });
    expect(happened(byLabel(family((await scrape(unverified)).families, 'auth_logins_total'), 'outcome'))).toEqual({ email_not_verified: 1 });

    // The registry prom-client holds says the same as the parsed text.
    const json = await app.services.metrics!.registry.getMetricsAsJSON();
    const fromJson = json.find((metric) => metric.name === 'auth_logins_total')!.values;
    expect(Object.fromEntries(fromJson.map((value) => [value.labels.outcome, value.value]))).toEqual(byLabel(logins, 'outcome'));
  });

  it('counts refreshes by outcome on both ways in (fast lane and router): rotated, grace, reused, invalid, rate limited', async () => {
    const { app, clock } = buildTestApp({ env: { REFRESH_RATE_LIMIT_MAX: '3' } });
    const refresh = (token: string, path = '/refresh') => request(app).post(path).send({ refresh_token: token });

    const first = (await registerAndLogin(app)).tokens.refresh_token;
    expect((await refresh(first)).status).toBe(200);
    // Inside the grace window the rotated-out token returns the successor: a 200 like any rotation.
    expect((await refresh(first)).status).toBe(200);
    clock.advanceSeconds(11);
    expectError(await refresh(first), 401, 'invalid_grant');
    expectError(await refresh('not-a-refresh-token'), 401, 'invalid_grant');

    let token = (await registerAndLogin(app)).tokens.refresh_token;
    for (const path of ['/refresh', '/refresh?via=router', '/refresh']) {
      const res = await refresh(token, path);
      expect(res.status).toBe(200);
      token = res.body.refresh_token as string;
    }
    expectError(await refresh(token), 429, 'rate_limited');

    const { families, text } = await scrape(app);
    const refreshes = family(families, 'auth_refreshes_total');
    expect(refreshes.type).toBe('COUNTER');
    expect(happened(byLabel(refreshes, 'outcome'))).toEqual({ rotated: 5, reused: 1, invalid: 1, rate_limited: 1 });
    // Both ways in carry the route pattern: the router's answer and the lane's are one series.
    const posts = durations(text).filter((series) => series.method === 'POST' && series.route === '/refresh');
    expect(Object.fromEntries(posts.map((series) => [series.status, series.count]))).toEqual({ '200': 5, '401': 2, '429': 1 });
  });

  it('labels request durations with the route pattern, and every unknown path with "unmatched"', async () => {
    const { app } = buildTestApp();
    const { email, tokens } = await registerAndLogin(app);
    const auth = bearer(tokens.access_token);
    expect((await request(app).get('/profile').set(...auth)).status).toBe(200);
    expect((await request(app).get('/profile?via=router').set(...auth)).status).toBe(200);
    expectError(await request(app).delete('/sessions/xyz').set(...auth), 404, 'not_found');
    expectError(await request(app).get('/nope/123'), 404, 'not_found');
    expectError(await request(app).get(`/nope/${encodeURIComponent(email)}`), 404, 'not_found');
    expectError(await request(app).post('/profile').set(...auth), 405, 'method_not_allowed');

    const { families, text } = await scrape(app);
    expect(family(families, 'http_request_duration_seconds').type).toBe('HISTOGRAM');
    const series = durations(text);
    expect(series).toEqual(
      expect.arrayContaining([
        { method: 'POST', route: '/register', status: '201', count: 1 },
        { method: 'POST', route: '/login', status: '200', count: 1 },
        { method: 'GET', route: '/profile', status: '200', count: 2 },
        { method: 'DELETE', route: '/sessions/:id', status: '404', count: 1 },
        { method: 'GET', route: 'unmatched', status: '404', count: 2 },
        { method: 'POST', route: '/profile', status: '405', count: 1 },
      ]),
    );
    // No raw path, query, id or email ever becomes a label value.
    for (const { route } of series) expect(route === 'unmatched' || /^\/[a-z/:._-]*$/.test(route)).toBe(true);
    const values = labelValues(text);
    expect(values).toEqual(expect.arrayContaining(['/sessions/:id', 'unmatched', 'DELETE', '404']));
    for (const raw of ['xyz', 'nope', 'via=router', email, '@']) expect(values.filter((value) => value.includes(raw))).toEqual([]);

    // Buckets are cumulative and end in +Inf, equal to the count.
    const buckets = samplesOf(text, 'http_request_duration_seconds_bucket').filter((sample) => sample.labels!.route === '/profile' && sample.labels!.method === 'GET');
    const counts = buckets.map((sample) => Number(sample.value));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(buckets.at(-1)).toEqual({ labels: { le: '+Inf', method: 'GET', route: '/profile', status: '200' }, value: '2' });
    // prom-client's own view of the same histogram agrees.
    const json = await app.services.metrics!.registry.getMetricsAsJSON();
    // A histogram's values name their series (prom-client's types leave metricName out).
    const histogram = json.find((metric) => metric.name === 'http_request_duration_seconds')!.values as { metricName?: string; labels: Record<string, unknown>; value: number }[];
    const profileCount = histogram.find((value) => value.metricName === 'http_request_duration_seconds_count' && value.labels.route === '/profile' && value.labels.method === 'GET');
    expect(profileCount?.value).toBe(2);
  });

  it('reads the password hashing queue at scrape time, and has the process metrics', async () => {
    const { app } = buildTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '2' } });
    const { email } = await register(app);
    let release = () => {};
    const held = app.services.hashGate.run(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = request(app).post('/login').send({ email, password: PASSWORD }).then((res) => res.status);
    await eventually(() => app.services.hashGate.queued === 1);

    const { families } = await scrape(app);
    expect(family(families, 'auth_password_hash_queue')).toMatchObject({ type: 'GAUGE', metrics: [{ value: '1' }] });
    expect(family(families, 'auth_password_hash_active')).toMatchObject({ type: 'GAUGE', metrics: [{ value: '1' }] });
    expect(family(families, 'auth_password_hash_queue_limit')).toMatchObject({ type: 'GAUGE', metrics: [{ value: '2' }] });
    release();
    await held;
    expect(await waiting).toBe(200);
    expect(family((await scrape(app)).families, 'auth_password_hash_queue').metrics).toEqual([{ value: '0' }]);

    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.has(name)).toBe(true);
    }
  });

  it('keeps one registry per app: apps of one process count apart, and scraping again registers nothing twice', async () => {
    const one = buildTestApp().app;
    const other = buildTestApp().app;
    await registerAndLogin(one);
    await scrape(one);
    const again = await scrape(one);
    expect(byLabel(family(again.families, 'auth_logins_total'), 'outcome').success).toBe(1);
    expect(byLabel(family((await scrape(other)).families, 'auth_logins_total'), 'outcome').success).toBe(0);
  });

  describe('with METRICS_TOKEN', () => {
    it('asks for the token: 401 without it or with another, a 400 for a broken header, 200 with it', async () => {
      const { app } = buildTestApp({ env: { METRICS_TOKEN: TOKEN } });
      const none = await request(app).get('/metrics');
      expectError(none, 401, 'unauthorized');
      expect(none.headers['www-authenticate']).toBe('Bearer realm="auth"');
      expect(none.headers['cache-control']).toBe('no-store');

      const other = await request(app).get('/metrics').set(...bearer(`${TOKEN}x`));
      expect(expectError(other, 401, 'invalid_token').error_description).toBe('token invalid');
      expect(other.headers['www-authenticate']).toBe('Bearer realm="auth", error="invalid_token", error_description="token invalid"');
      expectError(await request(app).get('/metrics').set(...bearer(TOKEN.slice(0, -1))), 401, 'invalid_token');
      expectError(await request(app).get('/metrics').set('Authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`), 401, 'unauthorized');
      expectError(await request(app).get('/metrics').set('Authorization', 'Bearer'), 400, 'invalid_request');
      expectError(await request(app).get(`/metrics?access_token=${TOKEN}`), 400, 'invalid_request');

      const head = await request(app).head('/metrics').set(...bearer(TOKEN));
      expect({ status: head.status, type: head.headers['content-type'], body: head.text }).toEqual({ status: 200, type: CONTENT_TYPE, body: undefined });
      const post = await request(app).post('/metrics').set(...bearer(TOKEN));
      expectError(post, 405, 'method_not_allowed');
      expect(post.headers['allow']).toBe('GET, HEAD');

      const { text } = await scrape(app, TOKEN);
      expect(text).not.toContain(TOKEN.slice(3));
      // The refused scrapes are timed like any request, under the route's pattern.
      expect(durations(text)).toEqual(expect.arrayContaining([{ method: 'GET', route: '/metrics', status: '401', count: 4 }]));
    });

    it('in production, answers with the token and 404 without one configured', async () => {
      const open = buildTestApp({ env: { NODE_ENV: 'production' } }).app;
      expectError(await request(open).get('/metrics'), 404, 'not_found');
      expect(open.services.metrics).toBeNull();

      const guarded = buildTestApp({ env: { NODE_ENV: 'production', METRICS_TOKEN: TOKEN } }).app;
      expectError(await request(guarded).get('/metrics'), 401, 'unauthorized');
      await scrape(guarded, TOKEN);
    });

    it('is refused in production when weak, anywhere when it is a signing secret or no Bearer token, never echoing it', () => {
      const production = { ...TEST_ENV, NODE_ENV: 'production' };
      const weak = 'metrics-qqweak';
      expect(configError({ ...production, METRICS_TOKEN: weak }).problems).toEqual(['METRICS_TOKEN: must be at least 32 bytes']);
      expect(configError({ ...production, METRICS_TOKEN: 'a'.repeat(40) }).problems).toEqual(['METRICS_TOKEN: has too little variety to be random']);
      expect(configError({ ...TEST_ENV, METRICS_TOKEN: TEST_ENV.JWT_SECRET! }).problems).toEqual(['METRICS_TOKEN: must differ from JWT_SECRET and JWT_REFRESH_SECRET']);
      const spaced = configError({ ...TEST_ENV, METRICS_TOKEN: 'qqweak token with spaces' });
      expect(spaced.problems).toEqual([expect.stringMatching(/^METRICS_TOKEN: must be a Bearer token/)]);
      expect(spaced.message).not.toContain('qqweak');

      // Outside production a weak token is a warning, the route guarded all the same.
      const { config, warnings } = loadConfig({ ...TEST_ENV, METRICS_TOKEN: weak });
      expect(config.metrics).toEqual({ enabled: true, token: weak });
      expect(warnings).toContain('METRICS_TOKEN must be at least 32 bytes: it would be refused in production');
      expect(warnings.join('\n')).not.toContain(weak);
      expect(loadConfig({ ...production, METRICS_TOKEN: TOKEN }).config.metrics).toEqual({ enabled: true, token: TOKEN });
      expect(loadConfig(production).config.metrics).toEqual({ enabled: false, token: null });
    });
  });
});
