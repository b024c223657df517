// The browser client (GET /auth-client.js) in real Chromium: in cookie mode the tabs of one origin share one refresh and one logout; in memory mode each tab has its own session and no token ever crosses the channel; fetch refreshes before expiry and once on "token expired"; malformed channel messages change nothing.
import { readFileSync } from 'node:fs';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { totpCode } from '../../src/auth/totp';
import { CLIENT_MODULE } from '../../src/http/routes/demo-routes';
import { buildTestApp } from '../helpers/build-app';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures';
import { describeInBrowser, launchChromium, serveTestApp, watchForProblems, type SeenRequest, type ServedApp } from './harness';

type Mode = 'cookie' | 'memory';

/**
 * A bare page of the server's origin (fulfilled by the browser, so the server sees only the
 * client's own calls) that imports the client as any SPA would and records its change events.
 */
const TEST_PAGE = `<!doctype html>
<title>auth client</title>
<script type="module">
  import * as module from '/auth-client.js';
  const mode = new URLSearchParams(location.search).get('mode');
  window.module = module;
  window.auth = module.createAuthClient({ baseUrl: location.origin, mode, apiOrigins: new URLSearchParams(location.search).getAll('api') });
  window.changes = [];
  auth.onChange((change) => changes.push(change));
  window.started = auth.ready.then((state) => state.signedIn, (error) => 'failed: ' + error.code);
</script>`;

/** Another page of the origin that never loads the client: an XSS on any page there runs as this one does. */
const OTHER_PAGE = `<!doctype html><title>another page of the origin</title><p>User content.</p>`;

/** The access token lifetime (15 min) less the client's refresh lead (60 s). */
const REFRESH_AFTER_SECONDS = 15 * 60 - 60;

const after = (seen: SeenRequest[], from: number, method: string, path: string) =>
  seen.slice(from).filter((entry) => entry.method === method && entry.path === path);

describe('GET /auth-client.js', () => {
  const { app } = buildTestApp();

  it('serves the client as a JavaScript module that browsers keep and revalidate by its ETag', async () => {
    const res = await request(app).get('/auth-client.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['pragma']).toBeUndefined();
    expect(res.headers['etag']).toMatch(/^"[\w-]{43}"$/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toBe(readFileSync(CLIENT_MODULE, 'utf8'));
    expect(res.text).toMatch(/^export function createAuthClient\(/m);

    const again = await request(app).get('/auth-client.js').set('If-None-Match', res.headers['etag']!);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers['etag']).toBe(res.headers['etag']);
    const changed = await request(app).get('/auth-client.js').set('If-None-Match', '"something else"');
    expect(changed.status).toBe(200);
  });

  it('answers only GET and HEAD', async () => {
    const post = await request(app).post('/auth-client.js').send({});
    expect({ status: post.status, allow: post.headers['allow'], error: post.body.error }).toEqual({ status: 405, allow: 'GET, HEAD', error: 'method_not_allowed' });
  });

  it('gives the demo page its assets under the prefix of a mounted router, and the same bytes at the root', async () => {
    const host = express();
    host.use('/auth', app.authRouter);
    const page = await request(host).get('/auth/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script type="module" src="/auth/demo/app.js">');
    expect(page.text).toContain('<link rel="stylesheet" href="/auth/demo/app.css">');
    const script = await request(host).get('/auth/auth-client.js');
    expect(script.status).toBe(200);
    expect((await request(app).get('/')).text).toContain('<script type="module" src="/demo/app.js">');
  });
});

describeInBrowser('the browser client in Chromium', () => {
  let browser: Browser;
  const cleanups: (() => Promise<unknown>)[] = [];
  const problems: string[][] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    expect(problems.splice(0).flat()).toEqual([]);
  });

  const startServer = (env: Record<string, string> = {}) => serveTestApp(env, cleanups);

  /** A browser profile (its own cookie jar) whose tabs can open the test page. */
  async function newProfile(served: ServedApp): Promise<BrowserContext> {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    await context.route(`${served.origin}/client-test.html*`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: TEST_PAGE }));
    await context.route(`${served.origin}/other-page.html`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: OTHER_PAGE }));
    return context;
  }

  /** Opens a tab with the client and waits until it knows whether it is signed in. */
  async function openTab(context: BrowserContext, served: ServedApp, mode: Mode, query = ''): Promise<Page> {
    const page = await context.newPage();
    problems.push(watchForProblems(page));
    await page.goto(`${served.origin}/client-test.html?mode=${mode}${query}`);
    await page.waitForFunction('window.started !== undefined');
    await page.evaluate('started');
    return page;
  }

  const run = <T>(page: Page, code: string) => page.evaluate<T>(code);
  /** Waits until `condition` holds in the page; well within jest's timeout, so a failure says what it waited for. */
  const until = (page: Page, condition: string) => page.waitForFunction(condition, undefined, { timeout: 10_000 });
  const state = (page: Page) => run<{ signedIn: boolean; user: { email: string } | null }>(page, 'auth.state');
  const changes = (page: Page) => run<{ signedIn: boolean; cause: string; reason: string | null; fromOtherTab: boolean }[]>(page, 'changes');

  /** Registers and logs in from `page`; answers the address. */
  async function signIn(page: Page): Promise<string> {
    const email = uniqueEmail('tabs');
    const credentials = JSON.stringify({ email, password: PASSWORD });
    expect(await run(page, `auth.register(${credentials}).then(() => auth.login(${credentials})).then((result) => result.status)`)).toBe('signed_in');
    return email;
  }

  /** Logs in from `page` to an account that exists; in memory mode, a session of that tab's own. */
  async function logIn(page: Page, email: string): Promise<void> {
    const credentials = JSON.stringify({ email, password: PASSWORD });
    expect(await run(page, `auth.login(${credentials}).then((result) => result.status)`)).toBe('signed_in');
  }

  /** The client's channel, as any script of the origin can name it (the protocol version is part of the name). */
  const channelName = (served: ServedApp, mode: Mode) => `auth-client:v2:${mode}:${served.origin}`;

  /**
   * Opens another page of the origin that listens on the client's channels (this version's and
   * the unversioned name of the version before) and keeps every message it hears in `heard`.
   */
  async function openListener(context: BrowserContext, served: ServedApp): Promise<Page> {
    const page = await context.newPage();
    problems.push(watchForProblems(page));
    await page.goto(`${served.origin}/other-page.html`);
    const names = (['cookie', 'memory'] as const).flatMap((mode) => [channelName(served, mode), `auth-client:${mode}:${served.origin}`]);
    await run(
      page,
      `window.heard = []; window.channels = ${JSON.stringify(names)}.map((name) => {
        const channel = new BroadcastChannel(name);
        channel.onmessage = (event) => heard.push({ name, data: event.data });
        return channel;
      }), 0`,
    );
    return page;
  }

  /** Everything the listener heard, as JSON: a token anywhere in a message shows up in it. */
  const heard = (listener: Page) => run<string>(listener, 'JSON.stringify(heard)');

  /** Posts `messages` on a channel from another page of the origin, as any script there could. */
  const postOn = (page: Page, name: string, messages: string) =>
    run(page, `(() => { const channel = new BroadcastChannel(${JSON.stringify(name)}); for (const message of ${messages}) channel.postMessage(message); channel.close(); })()`);

  /** Every token the server handed to the pages of `context` (bodies of /login, /login/mfa and /refresh answers). */
  function captureTokens(context: BrowserContext): () => Promise<string[]> {
    const bodies: Promise<string[]>[] = [];
    context.on('response', (response) => {
      if (!/\/(login|login\/mfa|refresh)$/.test(new URL(response.url()).pathname) || response.status() !== 200) return;
      bodies.push(
        response.json().then(
          (body: { access_token?: string; refresh_token?: string }) => [body.access_token, body.refresh_token].filter((token): token is string => typeof token === 'string'),
          () => [],
        ),
      );
    });
    return async () => (await Promise.all(bodies)).flat();
  }

  /** What a protected call from `page` answers, through the client. */
  const profileStatus = (page: Page) => run<number>(page, `auth.fetch('/profile').then((res) => res.status)`);

  /** The access token a tab would send now (whatever the mode, the client hands it out). */
  const tokenOf = (page: Page) => run<string | null>(page, 'auth.getAccessToken()');

  describe.each<Mode>(['cookie', 'memory'])('in %s mode', (mode) => {
    it('refreshes and retries once when a call meets "token expired"', async () => {
      const { served, clock } = await startServer();
      const context = await newProfile(served);
      const page = await openTab(context, served, mode);
      await signIn(page);
      const mark = served.seen.length;

      // Only the server's time moves: the client's own timer has not fired, so the call meets an expired token.
      clock.advanceSeconds(15 * 60 + 1);
      expect(await profileStatus(page)).toBe(200);
      expect(served.seen.slice(mark).map(({ method, path, status, challenge, tokenMode }) => ({ method, path, status, challenge, tokenMode }))).toEqual([
        { method: 'GET', path: '/profile', status: 401, challenge: 'Bearer realm="auth", error="invalid_token", error_description="token expired"', tokenMode: undefined },
        { method: 'POST', path: '/refresh', status: 200, challenge: undefined, tokenMode: mode === 'cookie' ? 'cookie' : undefined },
        { method: 'GET', path: '/profile', status: 200, challenge: undefined, tokenMode: undefined },
      ]);
      expect((await changes(page)).at(-1)).toEqual(expect.objectContaining({ cause: 'refresh', reason: 'expired', fromOtherTab: false }));
    });

    it('retries only once: a second "token expired" is the answer', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const page = await openTab(context, served, mode);
      await signIn(page);
      // Every GET /profile answers "token expired", whatever the token: a client that retried in a loop would never stop.
      let attempts = 0;
      await page.route(`${served.origin}/profile`, (route) => {
        attempts += 1;
        return route.fulfill({
          status: 401,
          headers: { 'WWW-Authenticate': 'Bearer realm="auth", error="invalid_token", error_description="token expired"' },
          contentType: 'application/json',
          body: JSON.stringify({ error: 'invalid_token', error_description: 'token expired' }),
        });
      });
      const mark = served.seen.length;
      expect(await profileStatus(page)).toBe(401);
      expect(attempts).toBe(2);
      expect(after(served.seen, mark, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200]);
      // Still signed in: an expired token is no reason to end the session.
      expect((await state(page)).signedIn).toBe(true);
    });

    it('sends the token only to the server and the origins it is told of', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const page = await openTab(context, served, mode, `&api=${encodeURIComponent('https://api.test')}`);
      await signIn(page);
      const seen: Record<string, string | undefined> = {};
      for (const host of ['elsewhere.test', 'api.test']) {
        await context.route(`https://${host}/**`, (route) => {
          seen[host] = route.request().headers()['authorization'];
          return route.fulfill({ status: 200, contentType: 'application/json', body: '{}', headers: { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'Authorization' } });
        });
      }
      await run(page, `auth.fetch('https://elsewhere.test/data').then((res) => res.status)`);
      expect(seen['elsewhere.test']).toBeUndefined();
      const token = await tokenOf(page);
      expect(await run(page, `auth.fetch('https://api.test/data').then((res) => res.status)`)).toBe(200);
      expect(seen['api.test']).toBe(`Bearer ${token}`);
    });

    it('refuses bad options with a TypeError naming the option, and makes no call', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const page = await openTab(context, served, mode);
      const mark = served.seen.length;
      const bad = {
        mode: "{ baseUrl: location.origin, mode: 'session' }",
        baseUrl: "{ mode: 'memory' }",
        apiOrigins: "{ baseUrl: location.origin, mode: 'memory', apiOrigins: 'https://api.test' }",
        'apiOrigins (not a URL)': "{ baseUrl: location.origin, mode: 'memory', apiOrigins: ['api.test'] }",
        refreshLeadSeconds: "{ baseUrl: location.origin, mode: 'memory', refreshLeadSeconds: NaN }",
        'refreshLeadSeconds (text)': "{ baseUrl: location.origin, mode: 'memory', refreshLeadSeconds: '60' }",
        'refreshLeadSeconds (negative)': "{ baseUrl: location.origin, mode: 'memory', refreshLeadSeconds: -1 }",
        fetch: "{ baseUrl: location.origin, mode: 'memory', fetch: 'fetch' }",
      };
      for (const [option, code] of Object.entries(bad)) {
        const thrown = await run<string>(page, `(() => { try { module.createAuthClient(${code}); return 'no error'; } catch (error) { return error.name + ': ' + error.message; } })()`);
        expect(thrown).toMatch(new RegExp(`^TypeError: createAuthClient: ${option.split(' ')[0]} must be`));
      }
      expect(served.seen.slice(mark)).toEqual([]);
    });
  });

  describe('in cookie mode, where the tabs share one session', () => {
    const mode: Mode = 'cookie';

    it('makes one network call when two tabs refresh at the same moment, and both stay signed in', async () => {
      // No grace window: two refreshes with one token would end the session. Only coordination saves it.
      const { served, app } = await startServer({ REFRESH_REUSE_GRACE: '0' });
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      // A new tab takes the session the first one holds, without a call of its own.
      const mark = served.seen.length;
      const second = await openTab(context, served, mode);
      expect(await state(second)).toEqual(expect.objectContaining({ signedIn: true, user: expect.objectContaining({ email }) }));
      expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([]);
      expect(await changes(second)).toEqual([expect.objectContaining({ signedIn: true, cause: 'restore', fromOtherTab: true })]);

      // The server holds the first refresh that arrives; both tabs ask for one meanwhile.
      const before = served.seen.length;
      const gate = served.gateRefreshes();
      await Promise.all([run(first, 'window.refreshed = auth.refresh(), 0'), run(second, 'window.refreshed = auth.refresh(), 0')]);
      await gate.arrived;
      // Time for a second call to reach the server, if a tab were to make one.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(after(served.seen, before, 'POST', '/refresh')).toHaveLength(1);
      gate.release();
      await Promise.all([run(first, 'refreshed'), run(second, 'refreshed')]);

      const refreshes = after(served.seen, before, 'POST', '/refresh');
      expect(refreshes.map((entry) => entry.status)).toEqual([200]);
      // Both tabs now hold the one new token, and both call a protected route with it.
      const [token1, token2] = [await tokenOf(first), await tokenOf(second)];
      expect(token1).toBe(token2);
      const calls = served.seen.length;
      expect([await profileStatus(first), await profileStatus(second)]).toEqual([200, 200]);
      expect(after(served.seen, calls, 'GET', '/profile').map((entry) => entry.authorization)).toEqual([`Bearer ${token1}`, `Bearer ${token1}`]);
      expect((await changes(first)).at(-1)).toEqual(expect.objectContaining({ cause: 'refresh', reason: 'manual' }));
      expect((await changes(second)).at(-1)).toEqual(expect.objectContaining({ cause: 'refresh' }));
      // One session, still alive: the rotation was never taken for a replay.
      const userId = (await run<{ id: string }>(first, 'auth.user')).id;
      expect(await app.services.sessions.list(userId)).toHaveLength(1);
    });

    it('signs the other tabs out when one logs out, and their fetch no longer sends a token', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      await signIn(first);
      const second = await openTab(context, served, mode);
      expect((await state(second)).signedIn).toBe(true);

      const mark = served.seen.length;
      await run(first, 'auth.logout()');
      expect(after(served.seen, mark, 'POST', '/logout').map((entry) => entry.status)).toEqual([204]);
      expect((await state(first)).signedIn).toBe(false);
      // The other tab hears it without a call of its own.
      await until(second, '!auth.signedIn');
      expect((await changes(second)).at(-1)).toEqual(expect.objectContaining({ signedIn: false, cause: 'logout', fromOtherTab: true }));
      expect(served.seen.length).toBe(mark + 1);

      const calls = served.seen.length;
      expect(await profileStatus(second)).toBe(401);
      expect(served.seen.slice(calls)).toEqual([expect.objectContaining({ method: 'GET', path: '/profile', authorization: undefined, status: 401 })]);
      expect(await context.cookies()).toEqual([]);
    });

    it('refreshes shortly before the access token expires, once for all tabs whose timers fire together', async () => {
      const { served, clock } = await startServer();
      const context = await newProfile(served);
      // The tabs' timers run on a clock the test moves, in step with the server's.
      await context.clock.install({ time: clock.now() });
      const first = await openTab(context, served, mode);
      await signIn(first);
      const second = await openTab(context, served, mode);
      const token = await tokenOf(first);
      const mark = served.seen.length;

      clock.advanceSeconds(REFRESH_AFTER_SECONDS - 1);
      await first.clock.runFor((REFRESH_AFTER_SECONDS - 1) * 1000);
      expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([]);

      clock.advanceSeconds(2);
      await first.clock.runFor(2000);
      await Promise.all([first, second].map((tab) => until(tab, `changes.some((change) => change.cause === 'refresh')`)));
      // One call, made 59 s before expiry, and both tabs took its token.
      expect(after(served.seen, mark, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200]);
      const fresh = await tokenOf(first);
      expect(fresh).not.toBe(token);
      expect(await tokenOf(second)).toBe(fresh);
      const reasons = [(await changes(first)).at(-1)!, (await changes(second)).at(-1)!];
      expect(reasons.map((change) => change.reason)).toEqual(['expiring', 'expiring']);
      expect(reasons.filter((change) => change.fromOtherTab)).toHaveLength(1);
      const calls = served.seen.length;
      expect(await profileStatus(second)).toBe(200);
      expect(after(served.seen, calls, 'GET', '/profile').map((entry) => entry.authorization)).toEqual([`Bearer ${fresh}`]);
    });

    it('settles a logout racing a refresh in another tab: every tab ends signed out, and the refreshed tokens are dead', async () => {
      const { served, app } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      await signIn(first);
      const second = await openTab(context, served, mode);

      const userId = await run<string>(first, 'auth.user.id');
      const gate = served.gateRefreshes();
      const mark = served.seen.length;
      const refreshAnswer = first.waitForResponse((res) => res.url() === `${served.origin}/refresh`);
      await run(first, 'window.refreshed = auth.refresh().then(() => "refreshed", (error) => error.code), 0');
      await gate.arrived;
      // The logout starts while the refresh is on the wire, and waits for it.
      await run(second, 'window.loggedOut = auth.logout().then(() => "logged out", (error) => error.code), 0');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(after(served.seen, mark, 'POST', '/logout')).toEqual([]);
      gate.release();
      expect(await run(first, 'refreshed')).toBe('refreshed');
      expect(await run(second, 'loggedOut')).toBe('logged out');

      expect(served.seen.slice(mark).map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['POST /refresh 200', 'POST /logout 204']);
      for (const tab of [first, second]) await until(tab, '!auth.signedIn');
      // The token the refresh handed out died with the session, and no tab holds one.
      const { access_token: refreshed } = (await (await refreshAnswer).json()) as { access_token: string };
      const check = await request(app).get('/profile').set('Authorization', `Bearer ${refreshed}`);
      expect({ status: check.status, description: check.body.error_description }).toEqual({ status: 401, description: 'token revoked' });
      expect([await tokenOf(first), await tokenOf(second)]).toEqual([null, null]);
      expect(await app.services.sessions.list(userId)).toEqual([]);
    });

    it('makes one logout call when two tabs log out at once', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      await signIn(first);
      const second = await openTab(context, served, mode);
      const mark = served.seen.length;
      expect(await Promise.all([run(first, 'auth.logout().then(() => "ok")'), run(second, 'auth.logout().then(() => "ok")')])).toEqual(['ok', 'ok']);
      expect(after(served.seen, mark, 'POST', '/logout').map((entry) => entry.status)).toEqual([204]);
      expect([(await state(first)).signedIn, (await state(second)).signedIn]).toEqual([false, false]);
    });

    it('signs every tab out when a call finds the session ended elsewhere ("token revoked"), without trying a refresh', async () => {
      const { served, app } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const second = await openTab(context, served, mode);
      // The same user, from another device, ends the browser's session.
      const phone = await request(app).post('/login').send({ email, password: PASSWORD });
      const { body } = await request(app).get('/sessions').set('Authorization', `Bearer ${phone.body.access_token}`);
      const browserSession = (body.sessions as { id: string; current: boolean }[]).find((session) => !session.current)!;
      expect((await request(app).delete(`/sessions/${browserSession.id}`).set('Authorization', `Bearer ${phone.body.access_token}`)).status).toBe(204);

      const mark = served.seen.length;
      expect(await profileStatus(first)).toBe(401);
      expect(served.seen.slice(mark).map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['GET /profile 401']);
      for (const tab of [first, second]) await until(tab, '!auth.signedIn');
      expect((await changes(first)).at(-1)).toEqual(expect.objectContaining({ cause: 'ended', fromOtherTab: false }));
      expect((await changes(second)).at(-1)).toEqual(expect.objectContaining({ cause: 'ended', fromOtherTab: true }));
    });

    it('asks for the second factor: login answers mfa_required and verify(code) signs every tab in', async () => {
      const { served, clock } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const { secret } = await run<{ secret: string }>(first, `auth.fetch('/mfa/totp', { method: 'POST' }).then((res) => res.json())`);
      const confirm = JSON.stringify({ code: totpCode(secret, clock.now()) });
      expect(await run(first, `auth.fetch('/mfa/totp/confirm', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(confirm)} }).then((res) => res.status)`)).toBe(200);
      await run(first, 'auth.logout()');
      const second = await openTab(context, served, mode);
      expect((await state(second)).signedIn).toBe(false);

      const credentials = JSON.stringify({ email, password: PASSWORD });
      expect(await run(first, `auth.login(${credentials}).then((result) => { window.step = result; return [result.status, result.expiresIn, auth.signedIn]; })`)).toEqual([
        'mfa_required',
        300,
        false,
      ]);
      clock.advanceSeconds(30);
      const right = totpCode(secret, clock.now());
      const wrong = right === '000000' ? '111111' : '000000';
      expect(await run(first, `step.verify(${JSON.stringify(wrong)}).then(() => 'signed in', (error) => error.code)`)).toBe('invalid_mfa_code');
      expect(await run(first, `step.verify(${JSON.stringify(right)}).then((result) => [result.status, result.user.email])`)).toEqual(['signed_in', email]);
      await until(second, 'auth.signedIn');
      expect((await changes(second)).at(-1)).toEqual(expect.objectContaining({ cause: 'login', fromOtherTab: true }));
      expect(await profileStatus(second)).toBe(200);
    });

    it('puts the access token on the channel for the other tabs, never the refresh token', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const listener = await openListener(context, served);
      const first = await openTab(context, served, mode);
      await signIn(first);
      const second = await openTab(context, served, mode);
      await run(first, 'auth.refresh()');
      await until(second, `changes.some((change) => change.cause === 'refresh')`);
      const [cookie] = await context.cookies();
      expect(cookie?.name).toBe('__Host-refresh_token');
      const messages = await heard(listener);
      // The one message a script of the origin can hear: the access token, which it could get by POST /refresh with the cookie anyway.
      expect(messages).toContain((await tokenOf(first))!);
      expect(messages).not.toContain(cookie!.value);
      expect(messages).not.toMatch(/refresh_?token/i);
    });
  });

  describe('in memory mode, where each tab holds its own session', () => {
    const mode: Mode = 'memory';

    it('starts a new tab signed out; two tabs that sign in hold two sessions, and each refreshes its own', async () => {
      // No grace window: were the tabs to share a refresh token, two refreshes would end the session.
      const { served, app } = await startServer({ REFRESH_REUSE_GRACE: '0' });
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const mark = served.seen.length;
      const second = await openTab(context, served, mode);
      expect((await state(second)).signedIn).toBe(false);
      expect(await changes(second)).toEqual([]);
      // Only the module itself (revalidated): no call to ask the server for a session.
      expect(served.seen.slice(mark).map(({ method, path }) => `${method} ${path}`)).toEqual(['GET /auth-client.js']);
      await logIn(second, email);
      expect(await tokenOf(second)).not.toBe(await tokenOf(first));

      const before = served.seen.length;
      await Promise.all([run(first, 'window.refreshed = auth.refresh(), 0'), run(second, 'window.refreshed = auth.refresh(), 0')]);
      await Promise.all([run(first, 'refreshed'), run(second, 'refreshed')]);
      expect(after(served.seen, before, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200, 200]);
      for (const tab of [first, second]) expect((await changes(tab)).at(-1)).toEqual(expect.objectContaining({ cause: 'refresh', reason: 'manual', fromOtherTab: false }));
      expect([await profileStatus(first), await profileStatus(second)]).toEqual([200, 200]);
      const userId = (await run<{ id: string }>(first, 'auth.user')).id;
      expect(await app.services.sessions.list(userId)).toHaveLength(2);
    });

    it('puts no token on the channel, and a page of the origin that asks for the session gets nothing', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const handedOut = captureTokens(context);
      const listener = await openListener(context, served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const second = await openTab(context, served, mode);
      await logIn(second, email);
      await Promise.all([run(first, 'auth.refresh()'), run(second, 'auth.refresh()')]);
      expect([await profileStatus(first), await profileStatus(second)]).toEqual([200, 200]);

      // The reviewer's attack: ask every tab for its session, claiming to hold nothing (seq 0), on
      // this version's channel and on the name the version before used.
      const mark = served.seen.length;
      for (const name of [channelName(served, mode), `auth-client:memory:${served.origin}`]) {
        await postOn(listener, name, JSON.stringify([{ type: 'ask', from: 'attacker', id: 'steal', seq: 0 }]));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The listener hears the asks (posted from its own page), and no tab answers them.
      expect((JSON.parse(await heard(listener)) as { data: { from: string } }[]).filter((message) => message.data.from !== 'attacker')).toEqual([]);
      expect(served.seen.slice(mark)).toEqual([]);
      expect([(await state(first)).signedIn, (await state(second)).signedIn]).toEqual([true, true]);

      // A logout is the one thing the tabs say, and it names no session.
      await run(first, 'auth.logout()');
      await until(second, '!auth.signedIn');
      expect((JSON.parse(await heard(listener)) as { data: { from: string } }[]).filter((message) => message.data.from !== 'attacker')).toEqual([
        { name: channelName(served, mode), data: { type: 'logout', from: expect.any(String) } },
      ]);
      // Login, refresh for each tab: 4 answers, 8 tokens, none of them on the channel.
      const tokens = await handedOut();
      expect(tokens).toHaveLength(8);
      const messages = await heard(listener);
      for (const token of tokens) expect(messages).not.toContain(token);
    });

    it('signs the other tab out when one logs out: each ends its own session at the server', async () => {
      const { served, app } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const second = await openTab(context, served, mode);
      await logIn(second, email);
      const userId = await run<string>(first, 'auth.user.id');
      const tokens = [await tokenOf(first), await tokenOf(second)];

      const mark = served.seen.length;
      await run(first, 'auth.logout()');
      expect((await state(first)).signedIn).toBe(false);
      await until(second, '!auth.signedIn');
      expect((await changes(second)).at(-1)).toEqual(expect.objectContaining({ signedIn: false, cause: 'logout', fromOtherTab: true }));
      // One logout per tab, each with its own refresh token.
      expect(served.seen.slice(mark).map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['POST /logout 204', 'POST /logout 204']);
      for (const token of tokens) {
        const check = await request(app).get('/profile').set('Authorization', `Bearer ${token}`);
        expect({ status: check.status, description: check.body.error_description }).toEqual({ status: 401, description: 'token revoked' });
      }
      expect(await app.services.sessions.list(userId)).toEqual([]);
      expect([await tokenOf(first), await tokenOf(second)]).toEqual([null, null]);

      // Signed out, a tab's fetch sends no token.
      const calls = served.seen.length;
      expect(await profileStatus(second)).toBe(401);
      expect(served.seen.slice(calls)).toEqual([expect.objectContaining({ method: 'GET', path: '/profile', authorization: undefined, status: 401 })]);
    });

    it('ends the session a tab refreshed while another tab logged out', async () => {
      const { served, app } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const second = await openTab(context, served, mode);
      await logIn(second, email);
      const userId = await run<string>(first, 'auth.user.id');

      const gate = served.gateRefreshes();
      const mark = served.seen.length;
      const refreshAnswer = first.waitForResponse((res) => res.url() === `${served.origin}/refresh`);
      await run(first, 'window.refreshed = auth.refresh().then(() => "refreshed", (error) => error.code), 0');
      await gate.arrived;
      // The other tab's session is its own: its logout goes at once, and the first tab ends its
      // session once its refresh is over, with the refresh token that refresh handed out.
      expect(await run(second, 'auth.logout().then(() => "logged out")')).toBe('logged out');
      gate.release();
      expect(await run(first, 'refreshed')).toBe('refreshed');
      await until(first, '!auth.signedIn');
      expect(served.seen.slice(mark).map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['POST /refresh 200', 'POST /logout 204', 'POST /logout 204']);
      const { access_token: refreshed } = (await (await refreshAnswer).json()) as { access_token: string };
      const check = await request(app).get('/profile').set('Authorization', `Bearer ${refreshed}`);
      expect({ status: check.status, description: check.body.error_description }).toEqual({ status: 401, description: 'token revoked' });
      expect(await app.services.sessions.list(userId)).toEqual([]);
    });

    it('signs in only the tab whose second factor was checked', async () => {
      const { served, clock } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, mode);
      const email = await signIn(first);
      const { secret } = await run<{ secret: string }>(first, `auth.fetch('/mfa/totp', { method: 'POST' }).then((res) => res.json())`);
      const confirm = JSON.stringify({ code: totpCode(secret, clock.now()) });
      expect(await run(first, `auth.fetch('/mfa/totp/confirm', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(confirm)} }).then((res) => res.status)`)).toBe(200);
      await run(first, 'auth.logout()');
      const second = await openTab(context, served, mode);

      // A code is good once: the next one.
      clock.advanceSeconds(30);
      const credentials = JSON.stringify({ email, password: PASSWORD });
      expect(await run(first, `auth.login(${credentials}).then((result) => result.status === 'mfa_required' ? result.verify(${JSON.stringify(totpCode(secret, clock.now()))}) : result).then((result) => result.status)`)).toBe(
        'signed_in',
      );
      expect(await profileStatus(first)).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await state(second)).signedIn).toBe(false);
    });
  });

  describe('messages on the channel that are not of the protocol', () => {
    /** Messages of the wrong shape: bad sequence numbers (the reviewer's Infinity and NaN), ids, causes, sessions, types. */
    const MALFORMED = `[
      'nonsense', null, 42, [1, 2], {},
      { type: 'ask', from: 'x', id: 'y', seq: Infinity },
      { type: 'ask', from: 'x', id: 'y', seq: NaN },
      { type: 'ask', from: 'x', id: 'y', seq: -1 },
      { type: 'ask', from: 'x', id: 'y', seq: 1.5 },
      { type: 'ask', from: 'x', id: 'y', seq: '7' },
      { type: 'ask', from: 5, id: 'y', seq: 1 },
      { type: 'ask', from: 'x', id: {}, seq: 1 },
      { type: 'state', from: 'x', seq: Infinity, session: null, cause: 'logout', reason: null },
      { type: 'state', from: 'x', seq: NaN, session: null, cause: 'logout', reason: null },
      { type: 'state', from: 'x', seq: Number.MAX_VALUE, session: null, cause: 'logout', reason: null },
      { type: 'state', from: 'x', seq: 2 ** 53, session: null, cause: 'logout', reason: null },
      { type: 'state', from: 'x', seq: 1000, session: { accessToken: 7 }, cause: 'refresh', reason: null },
      { type: 'state', from: 'x', seq: 1000, session: { accessToken: 'a', expiresAt: Infinity, lifetime: 900, user: { id: 'u', email: 'e' } }, cause: 'refresh', reason: null },
      { type: 'state', from: 'x', seq: 1000, session: null, cause: 'bogus', reason: null },
      { type: 'state', from: 'x', seq: 1000, session: null, cause: 'logout', reason: 'whenever' },
      { type: 'state', from: 'x', seq: 1000, cause: 'logout', reason: null },
      { type: 'reply', from: 'x', to: {}, id: 'y', seq: 1000, session: null, cause: 'logout', reason: null },
      { type: 'launch', from: 'x', seq: 1 },
      { type: 'logout' },
      { type: 'logout', from: 5 },
      { type: 'LOGOUT', from: 'x' },
    ]`;

    it('leave cookie-mode tabs as they were, and two tabs refreshing at once still make one call', async () => {
      const { served } = await startServer({ REFRESH_REUSE_GRACE: '0' });
      const context = await newProfile(served);
      const first = await openTab(context, served, 'cookie');
      await signIn(first);
      const second = await openTab(context, served, 'cookie');
      const token = await tokenOf(first);
      const seenChanges = [(await changes(first)).length, (await changes(second)).length];
      const other = await openListener(context, served);

      const mark = served.seen.length;
      await postOn(other, channelName(served, 'cookie'), MALFORMED);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([await tokenOf(first), await tokenOf(second)]).toEqual([token, token]);
      expect([(await changes(first)).length, (await changes(second)).length]).toEqual(seenChanges);
      expect(served.seen.slice(mark)).toEqual([]);

      const gate = served.gateRefreshes();
      await Promise.all([run(first, 'window.refreshed = auth.refresh(), 0'), run(second, 'window.refreshed = auth.refresh(), 0')]);
      await gate.arrived;
      await new Promise((resolve) => setTimeout(resolve, 300));
      gate.release();
      await Promise.all([run(first, 'refreshed'), run(second, 'refreshed')]);
      expect(after(served.seen, mark, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200]);
      const fresh = await tokenOf(first);
      expect(fresh).not.toBe(token);
      expect(await tokenOf(second)).toBe(fresh);
      // And the next rotation too: the sequence numbers were not thrown off.
      await run(second, 'auth.refresh()');
      await until(first, `changes.filter((change) => change.cause === 'refresh').length === 2`);
      expect(await tokenOf(first)).toBe(await tokenOf(second));
      expect(after(served.seen, mark, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200, 200]);
    });

    it('leave memory-mode tabs signed in; only a well-formed "logged out" signs them out', async () => {
      const { served } = await startServer();
      const context = await newProfile(served);
      const first = await openTab(context, served, 'memory');
      const email = await signIn(first);
      const second = await openTab(context, served, 'memory');
      await logIn(second, email);
      const other = await openListener(context, served);

      const mark = served.seen.length;
      await postOn(other, channelName(served, 'memory'), MALFORMED);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(served.seen.slice(mark)).toEqual([]);
      expect([(await state(first)).signedIn, (await state(second)).signedIn]).toEqual([true, true]);
      expect([await profileStatus(first), await profileStatus(second)]).toEqual([200, 200]);

      // A script of the origin can forge a logout (it can sign the tabs out, nothing more).
      await postOn(other, channelName(served, 'memory'), `[{ type: 'logout', from: 'x' }]`);
      for (const tab of [first, second]) await until(tab, '!auth.signedIn');
    });
  });

  it('restores a cookie-mode session after a reload through the cookie, and a memory-mode one never', async () => {
    const { served } = await startServer();
    const context = await newProfile(served);
    const cookieTab = await openTab(context, served, 'cookie');
    const email = await signIn(cookieTab);
    let mark = served.seen.length;
    await cookieTab.reload();
    await cookieTab.waitForFunction('window.started !== undefined');
    expect(await cookieTab.evaluate('started')).toBe(true);
    expect(await state(cookieTab)).toEqual(expect.objectContaining({ signedIn: true, user: expect.objectContaining({ email }) }));
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([expect.objectContaining({ status: 200, tokenMode: 'cookie' })]);
    expect((await changes(cookieTab)).at(-1)).toEqual(expect.objectContaining({ cause: 'refresh', reason: 'load' }));

    const memoryTab = await openTab(context, served, 'memory');
    expect((await state(memoryTab)).signedIn).toBe(false);
    await signIn(memoryTab);
    mark = served.seen.length;
    await memoryTab.reload();
    await memoryTab.waitForFunction('window.started !== undefined');
    // Nothing outlives the tabs in memory mode, and nothing was written to storage.
    expect(await memoryTab.evaluate('started')).toBe(false);
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([]);
    expect(await memoryTab.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    // The cookie-mode session is another one (another lock, another channel): untouched.
    expect((await state(cookieTab)).signedIn).toBe(true);
  });
});
