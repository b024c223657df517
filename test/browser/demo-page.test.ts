// The demo SPA in real Chromium: cookie mode, silent refresh, two tabs sharing one refresh, cross-tab logout, TOTP enrolment by scanning its QR code and the two-step login, and what another origin cannot do.
import jsQR from 'jsqr';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import request from 'supertest';
import { totpCode } from '../../src/auth/totp';
import { decodeJwt, PASSWORD, uniqueEmail } from '../helpers/fixtures';
import {
  describeInBrowser,
  launchChromium,
  screenshot,
  serveForeignSite,
  serveTestApp,
  watchForProblems,
  type ForeignSite,
  type SeenRequest,
  type ServedApp,
} from './harness';

/** The access token lifetime (15 min) less the page's refresh lead (60 s). */
const REFRESH_AFTER_SECONDS = 15 * 60 - 60;

describeInBrowser('the demo page in Chromium', () => {
  let browser: Browser;
  let foreign: ForeignSite;
  const cleanups: (() => Promise<unknown>)[] = [];
  const problems: string[][] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    foreign = await serveForeignSite();
  });

  afterAll(async () => {
    await browser?.close();
    await foreign?.close();
  });

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    // Every page the test opened worked under the page's CSP: no refusal, no script error.
    expect(problems.splice(0).flat()).toEqual([]);
  });

  const startServer = (env: Record<string, string> = {}) => serveTestApp(env, cleanups);

  /** A fresh browser profile: its own cookie jar. */
  async function newProfile(): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    cleanups.push(() => context.close());
    return context;
  }

  /** Opens the demo page in a new tab and waits until it knows whether it is signed in. */
  async function openDemo(context: BrowserContext, served: ServedApp): Promise<Page> {
    const page = await context.newPage();
    problems.push(watchForProblems(page));
    await page.goto(`${served.origin}/`);
    await page.locator('#signed-in:visible, #signed-out:visible').waitFor();
    return page;
  }

  async function signUp(page: Page, email = uniqueEmail('ann')): Promise<string> {
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('button[value="register"]');
    await page.locator('#profile-email', { hasText: email }).waitFor();
    return email;
  }

  const isSignedIn = (page: Page) => page.locator('#signed-in').isVisible();

  /** Clicks "Refresh now" and waits until the page counts one more refresh. */
  async function refreshNow(page: Page): Promise<void> {
    const count = Number.parseInt((await page.textContent('#token-refreshes'))!, 10) || 0;
    await page.click('#refresh-now');
    await page.locator('#token-refreshes', { hasText: `${count + 1} (last: button)` }).waitFor();
  }
  const after = (seen: SeenRequest[], from: number, method: string, path: string) =>
    seen.slice(from).filter((entry) => entry.method === method && entry.path === path);

  /** The JSON of the next answer of `method path` to the page, once it arrives. */
  function nextAnswer(page: Page, served: ServedApp, method: string, path: string): Promise<Record<string, unknown>> {
    return page
      .waitForResponse((res) => res.url() === `${served.origin}${path}` && res.request().method() === method)
      .then((res) => res.json() as Promise<Record<string, unknown>>);
  }

  /** What a phone's camera does: a picture of the element as it is on screen, read as a QR code. */
  async function scanQrCode(page: Page, selector: string): Promise<string> {
    const png = PNG.sync.read(await page.locator(selector).screenshot());
    const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    if (!found) throw new Error(`no QR code could be read in ${selector}`);
    return found.data;
  }

  it('enrols TOTP by scanning the QR code drawn in the page, shows the recovery codes once, then asks for a code at the next login', async () => {
    const { served, clock } = await startServer();
    const context = await newProfile();
    // Every URL the page asks for, from its first load, images and scripts included: none may leave this origin.
    const requested: string[] = [];
    context.on('request', (req) => requested.push(req.url()));
    const page = await openDemo(context, served);
    // The app is this test's own, so a plain address is free (and reads well in docs/demo-mfa.png).
    const email = await signUp(page, 'ann@example.com');
    expect(await page.textContent('#profile-mfa')).toBe('off');
    expect(await page.textContent('#mfa-status')).toBe('off');

    const enrolment = nextAnswer(page, served, 'POST', '/mfa/totp');
    await page.click('#mfa-enrol');
    const { secret, otpauth_uri: uri } = (await enrolment) as { secret: string; otpauth_uri: string };
    await page.locator('#mfa-qr:visible').waitFor();
    await page.waitForFunction(`(() => { const image = document.getElementById('mfa-qr'); return image.complete && image.naturalWidth > 0; })()`);
    await screenshot(page, '6-mfa-scan');

    // The code on screen is the API's otpauth URI, and the key shown for typing in is its secret.
    const scanned = await scanQrCode(page, '#mfa-qr');
    expect(scanned).toBe(uri);
    const scannedSecret = new URL(scanned).searchParams.get('secret')!;
    expect(scannedSecret).toBe(secret);
    expect((await page.textContent('#mfa-secret'))!.replace(/\s/g, '')).toBe(secret);

    // The authenticator app's code for this moment of the server's clock, from what was scanned.
    const confirmation = nextAnswer(page, served, 'POST', '/mfa/totp/confirm');
    await page.fill('#mfa-confirm-code', totpCode(scannedSecret, clock.now()));
    await page.click('#mfa-confirm-form button[type="submit"]');
    const { recovery_codes: recoveryCodes } = (await confirmation) as { recovery_codes: string[] };
    await page.locator('#mfa-recovery:visible').waitFor();
    expect(await page.locator('#mfa-recovery-codes li').allTextContents()).toEqual(recoveryCodes);
    expect(recoveryCodes).toHaveLength(10);
    expect(await page.textContent('#mfa-status')).toBe('on');
    expect(await page.textContent('#profile-mfa')).toBe('on (TOTP)');
    await screenshot(page, '7-mfa-recovery-codes');
    await page.click('#mfa-recovery-done');
    await page.locator('#mfa-on:visible').waitFor();
    // Shown once: gone from the page once put away.
    expect(await page.locator('#mfa-recovery-codes li').count()).toBe(0);

    await page.click('#logout');
    await page.locator('#notice', { hasText: 'Logged out.' }).waitFor();

    // The password alone no longer signs in: the page asks for the code, holding no session yet.
    const mark = served.seen.length;
    const firstStep = nextAnswer(page, served, 'POST', '/login');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('button[value="login"]');
    expect(await firstStep).toEqual({ error: 'mfa_required', error_description: expect.any(String), mfa_token: expect.any(String), expires_in: 300 });
    await page.locator('#mfa-login-form:visible').waitFor();
    expect(await page.textContent('#signed-out h1')).toBe('Enter your code');
    expect(await page.locator('#auth-form').isVisible()).toBe(false);
    expect(await context.cookies()).toEqual([]);
    await screenshot(page, '8-mfa-code-asked');

    // A wrong code is said under the form; the right one (the next step: the confirming one is used up) signs in.
    clock.advanceSeconds(30);
    const right = totpCode(scannedSecret, clock.now());
    await page.fill('#mfa-login-code', right === '000000' ? '111111' : '000000');
    await page.click('#mfa-login-form button[type="submit"]');
    await page.locator('#mfa-login-error', { hasText: 'The code is wrong or was already used.' }).waitFor();
    const secondStep = nextAnswer(page, served, 'POST', '/login/mfa');
    await page.fill('#mfa-login-code', right);
    await page.click('#mfa-login-form button[type="submit"]');
    const tokens = await secondStep;
    await page.locator('#profile-email', { hasText: email }).waitFor();
    expect(await page.textContent('#who')).toBe(`Signed in as ${email}`);
    expect(await page.textContent('#profile-mfa')).toBe('on (TOTP)');
    expect(decodeJwt(tokens.access_token as string).payload.amr).toEqual(['pwd', 'otp']);
    expect(tokens.refresh_token).toBeUndefined();
    expect(served.seen.slice(mark).map(({ method, path, status, tokenMode }) => ({ method, path, status, tokenMode }))).toEqual([
      { method: 'POST', path: '/login', status: 403, tokenMode: 'cookie' },
      { method: 'POST', path: '/login/mfa', status: 401, tokenMode: 'cookie' },
      { method: 'POST', path: '/login/mfa', status: 200, tokenMode: 'cookie' },
      { method: 'GET', path: '/profile', status: 200, tokenMode: undefined },
      { method: 'GET', path: '/sessions', status: 200, tokenMode: undefined },
    ]);
    expect(await context.cookies()).toEqual([expect.objectContaining({ name: '__Host-refresh_token', httpOnly: true })]);

    // Turned off with a recovery code, the password alone signs in again.
    await page.fill('#mfa-disable-code', recoveryCodes[0]!);
    await page.click('#mfa-on button[type="submit"]');
    await page.locator('#mfa-off:visible').waitFor();
    expect(after(served.seen, mark, 'DELETE', '/mfa/totp').map((entry) => entry.status)).toEqual([204]);
    await page.click('#logout');
    await page.locator('#notice', { hasText: 'Logged out.' }).waitFor();
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('button[value="login"]');
    await page.locator('#profile-email', { hasText: email }).waitFor();
    expect(await page.textContent('#profile-mfa')).toBe('off');

    // Nothing went to another origin: the QR code was drawn here, from this server's own module.
    expect(requested.filter((url) => !url.startsWith(`${served.origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(requested).toContain(`${served.origin}/demo/qrcode.mjs`);
  }, 60_000);

  it('registers and logs in with cookie mode, shows the profile, and keeps the refresh token out of reach of scripts', async () => {
    const { served } = await startServer();
    const context = await newProfile();
    const page = await openDemo(context, served);
    expect(await page.locator('#signed-out').isVisible()).toBe(true);
    expect(await page.textContent('#who')).toBe('Signed out');
    await screenshot(page, '1-signed-out');

    const loginAnswer = page.waitForResponse((res) => res.url() === `${served.origin}/login`);
    const email = await signUp(page);
    const loginBody = (await (await loginAnswer).json()) as Record<string, unknown>;

    expect(await page.textContent('#who')).toBe(`Signed in as ${email}`);
    expect(await page.textContent('#profile-role')).toBe('user');
    expect(await page.textContent('#profile-id')).toMatch(/\S{8,}/);
    await screenshot(page, '2-signed-in');

    // What went over the wire: cookie mode on /login, then Bearer calls.
    const [login] = after(served.seen, 0, 'POST', '/login');
    expect({ status: login!.status, tokenMode: login!.tokenMode }).toEqual({ status: 200, tokenMode: 'cookie' });
    expect(Object.keys(loginBody).sort()).toEqual(['access_token', 'expires_at', 'expires_in', 'refresh_expires_in', 'token_type', 'user']);
    const [profile] = after(served.seen, 0, 'GET', '/profile');
    expect({ status: profile!.status, authorization: profile!.authorization }).toEqual({
      status: 200,
      authorization: `Bearer ${loginBody.access_token}`,
    });

    // The browser holds the refresh token as the contract says, where no script can read it.
    const cookies = await context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: '__Host-refresh_token', domain: '127.0.0.1', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' }),
    ]);
    const refreshToken = cookies[0]!.value;
    expect(refreshToken.split('.')).toHaveLength(3);
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    // The access token lives in memory only: not in storage, not in the page.
    expect(await page.evaluate<number>('localStorage.length + sessionStorage.length')).toBe(0);
    const html = await page.content();
    expect(html).not.toContain(loginBody.access_token);
    expect(html).not.toContain(refreshToken);
  });

  it('keeps the user signed in across a reload through the cookie, and a fresh profile is signed out', async () => {
    const { served } = await startServer();
    const context = await newProfile();
    const page = await openDemo(context, served);
    const email = await signUp(page);
    const firstBearer = after(served.seen, 0, 'GET', '/profile')[0]!.authorization;

    const mark = served.seen.length;
    await page.reload();
    await page.locator('#profile-email', { hasText: email }).waitFor();
    expect(await page.textContent('#token-refreshes')).toBe('1 (last: page load)');
    const [refresh] = after(served.seen, mark, 'POST', '/refresh');
    expect(refresh).toMatchObject({ status: 200, tokenMode: 'cookie', cookie: expect.stringMatching(/^__Host-refresh_token=/) });
    const [profile] = after(served.seen, mark, 'GET', '/profile');
    expect(profile!.status).toBe(200);
    expect(profile!.authorization).toMatch(/^Bearer /);
    expect(profile!.authorization).not.toBe(firstBearer);

    // Another browser profile has no cookie: the page cannot sign it in.
    const stranger = await openDemo(await newProfile(), served);
    expect(await stranger.locator('#signed-out').isVisible()).toBe(true);
  });

  it('refreshes silently shortly before the access token expires', async () => {
    const world = await startServer();
    const { served, clock } = world;
    const context = await newProfile();
    // The page's timers run on a clock the test moves, in step with the server's.
    await context.clock.install({ time: clock.now() });
    const page = await openDemo(context, served);
    await signUp(page);
    const mark = served.seen.length;

    clock.advanceSeconds(REFRESH_AFTER_SECONDS - 40);
    await page.clock.fastForward((REFRESH_AFTER_SECONDS - 40) * 1000);
    await page.click('#call-profile');
    await page.locator('#call-result', { hasText: '200 GET /profile' }).waitFor();
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([]);

    const refreshed = page.waitForResponse((res) => res.url() === `${served.origin}/refresh`);
    clock.advanceSeconds(41);
    await page.clock.fastForward(41_000);
    const answer = await refreshed;
    expect(answer.status()).toBe(200);
    const { access_token: fresh } = (await answer.json()) as { access_token: string };
    await page.locator('#token-refreshes', { hasText: '1 (last: before expiry)' }).waitFor();
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([
      expect.objectContaining({ status: 200, tokenMode: 'cookie', cookie: expect.stringMatching(/^__Host-refresh_token=/) }),
    ]);

    // The next call carries the new token, and the page shows its full lifetime again.
    const mark2 = served.seen.length;
    await page.click('#call-profile');
    await page.locator('#call-result', { hasText: '200 GET /profile' }).waitFor();
    expect(after(served.seen, mark2, 'GET', '/profile').map((entry) => entry.authorization)).toEqual([`Bearer ${fresh}`]);
    expect(await page.textContent('#token-expiry')).toMatch(/^(15 min 0 s|14 min 5\d s)$/);
  });

  it('refreshes and retries once when a call answers 401 "token expired"', async () => {
    const { served, clock } = await startServer();
    const page = await openDemo(await newProfile(), served);
    await signUp(page);
    const mark = served.seen.length;

    // Only the server's time moves: the page's own timer has not fired, so the call meets an expired token.
    clock.advanceSeconds(15 * 60 + 1);
    await page.click('#call-profile');
    await page.locator('#call-result', { hasText: '200 GET /profile' }).waitFor();

    expect(served.seen.slice(mark).map(({ method, path, status, challenge }) => ({ method, path, status, challenge }))).toEqual([
      {
        method: 'GET',
        path: '/profile',
        status: 401,
        challenge: 'Bearer realm="auth", error="invalid_token", error_description="token expired"',
      },
      { method: 'POST', path: '/refresh', status: 200, challenge: undefined },
      { method: 'GET', path: '/profile', status: 200, challenge: undefined },
    ]);
    expect(await page.textContent('#token-refreshes')).toBe('1 (last: token expired)');
  });

  /** Two tabs of one profile signed in to one session: the second took it from the first, without a call. */
  async function twoTabs(env: Record<string, string> = {}) {
    const world = await startServer(env);
    const context = await newProfile();
    const first = await openDemo(context, world.served);
    const email = await signUp(first);
    const mark = world.served.seen.length;
    const second = await openDemo(context, world.served);
    await second.locator('#profile-email', { hasText: email }).waitFor();
    expect(after(world.served.seen, mark, 'POST', '/refresh')).toEqual([]);
    return { ...world, context, first, second, email };
  }

  it('makes one refresh for two tabs clicking "Refresh now" at the same moment, and both stay signed in, grace window or not', async () => {
    // Without the grace window, two refreshes with one cookie would look like a replay and end the session.
    const { first, second, served, app } = await twoTabs({ REFRESH_REUSE_GRACE: '0' });
    const mark = served.seen.length;
    // The server holds the first refresh until both tabs have asked for one.
    const gate = served.gateRefreshes();
    await Promise.all([first.click('#refresh-now'), second.click('#refresh-now')]);
    await gate.arrived;
    await new Promise((resolve) => setTimeout(resolve, 300));
    gate.release();
    await first.locator('#token-refreshes', { hasText: /^1 \(last: button/ }).waitFor();
    await second.locator('#token-refreshes', { hasText: /^1 \(last: button/ }).waitFor();
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([expect.objectContaining({ status: 200, tokenMode: 'cookie' })]);
    // The tab whose click the other one's call answered says so.
    expect([await first.textContent('#token-refreshes'), await second.textContent('#token-refreshes')].sort()).toEqual([
      '1 (last: button)',
      '1 (last: button, in another tab)',
    ]);

    for (const tab of [first, second]) {
      await tab.click('#call-profile');
      await tab.locator('#call-result', { hasText: '200 GET /profile' }).waitFor();
    }
    // And the session goes on: each tab refreshes again later, one after the other.
    for (const tab of [first, second]) {
      const before = served.seen.length;
      await refreshNow(tab);
      expect(after(served.seen, before, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200]);
    }
    expect(await app.services.sessions.list((await first.textContent('#profile-id'))!)).toHaveLength(1);
  });

  it('signs every tab out at once when one tab logs out', async () => {
    const { served, context, first, second } = await twoTabs();
    const mark = served.seen.length;
    await first.click('#logout');
    await first.locator('#notice', { hasText: 'Logged out.' }).waitFor();
    expect(await first.locator('#signed-out').isVisible()).toBe(true);
    expect(await context.cookies()).toEqual([]);
    expect(served.seen.slice(mark)).toEqual([
      expect.objectContaining({ method: 'POST', path: '/logout', status: 204, tokenMode: 'cookie', cookie: expect.stringMatching(/^__Host-refresh_token=/) }),
    ]);

    // The other tab hears it from this one: signed out with no call of its own.
    await second.locator('#notice', { hasText: 'Logged out in another tab.' }).waitFor();
    expect(await second.locator('#signed-out').isVisible()).toBe(true);
    expect(await second.textContent('#who')).toBe('Signed out');
    expect(await second.textContent('#token-expiry')).toBe('–');
    await screenshot(second, '4-ended-in-another-tab');
    expect(served.seen).toHaveLength(mark + 1);

    await second.reload();
    await second.locator('#who', { hasText: 'Signed out' }).waitFor();
  });

  it('signs every tab out when a call finds the session ended from another device, without trying a refresh', async () => {
    const { served, app, first, second, email } = await twoTabs();
    const phone = await request(app).post('/login').send({ email, password: PASSWORD });
    const { body } = await request(app).get('/sessions').set('Authorization', `Bearer ${phone.body.access_token}`);
    const browserSession = (body.sessions as { id: string; current: boolean }[]).find((session) => !session.current)!;
    expect((await request(app).delete(`/sessions/${browserSession.id}`).set('Authorization', `Bearer ${phone.body.access_token}`)).status).toBe(204);

    // The tabs still show the profile; the next call learns the session is over.
    expect(await isSignedIn(second)).toBe(true);
    const mark = served.seen.length;
    await second.click('#call-profile');
    for (const tab of [second, first]) {
      await tab.locator('#notice', { hasText: 'Your session has ended. Please log in again.' }).waitFor();
      expect(await tab.locator('#signed-out').isVisible()).toBe(true);
    }
    // "token revoked" is not worth a refresh: the page did not try one.
    expect(served.seen.slice(mark).map(({ method, path, status, challenge }) => ({ method, path, status, challenge }))).toEqual([
      {
        method: 'GET',
        path: '/profile',
        status: 401,
        challenge: 'Bearer realm="auth", error="invalid_token", error_description="token revoked"',
      },
    ]);
  });

  it('lists the sessions and ends another one', async () => {
    const { served, app } = await startServer();
    const page = await openDemo(await newProfile(), served);
    // Each test has an app of its own, so a plain address is free (and reads well in docs/demo-page.png).
    const email = await signUp(page, 'ann@example.com');
    const other = await request(app).post('/login').set('User-Agent', 'curl/8.5.0').send({ email, password: PASSWORD });
    expect(other.status).toBe(200);

    await page.click('#reload-sessions');
    const rows = page.locator('#sessions-body tr');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toMatch(/^Headless Chrome \d+ on Linux this browser127\.0\.0\.1/);
    expect(await rows.nth(1).textContent()).toMatch(/^curl\S*127\.0\.0\.1.*End$/);
    await page.click('#call-profile');
    await page.locator('#call-result', { hasText: '200 GET /profile' }).waitFor();
    await screenshot(page, '3-sessions');

    await rows.nth(1).locator('button', { hasText: 'End' }).click();
    await rows.nth(1).waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(1);
    const ended = await request(app).get('/profile').set('Authorization', `Bearer ${other.body.access_token}`);
    expect({ status: ended.status, description: ended.body.error_description }).toEqual({ status: 401, description: 'token revoked' });
    expect(await isSignedIn(page)).toBe(true);
  });

  it('shows the server’s own sentence when a login or a registration fails', async () => {
    const { served } = await startServer();
    const page = await openDemo(await newProfile(), served);
    await page.fill('#email', uniqueEmail('nobody'));
    await page.fill('#password', 'wrong password');
    await page.click('button[value="login"]');
    await page.locator('#form-error', { hasText: 'The email or password is incorrect.' }).waitFor();
    await screenshot(page, '5-login-failed');

    await page.fill('#password', 'short');
    await page.click('button[value="register"]');
    await page.locator('#form-error', { hasText: /^password: / }).waitFor();
    expect(await page.locator('#signed-out').isVisible()).toBe(true);
  });

  it('keeps a sibling subdomain from planting a refresh cookie that switches the page into another session (cookie tossing)', async () => {
    // *.localhost is loopback and a secure context for Chromium, so two sibling hosts of one site
    // can run on this machine: the app, and a page that may set cookies for the parent domain.
    const { served, app } = await startServer();
    const context = await newProfile();
    const demo = await context.newPage();
    problems.push(watchForProblems(demo));
    const appOrigin = `http://app.site.localhost:${served.port}`;
    await demo.goto(`${appOrigin}/`);
    await demo.locator('#signed-out:visible').waitFor();
    const email = await signUp(demo);

    // The attacker's own session, whose refresh token the sibling tries to slip under the victim.
    const attacker = await request(app).post('/register').send({ email: uniqueEmail('mallory'), password: PASSWORD });
    const attackerLogin = await request(app).post('/login').set('X-Token-Mode', 'cookie').send({ email: attacker.body.user.email, password: PASSWORD });
    const planted = (attackerLogin.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!.split('=')[1]!;
    const sibling = await context.newPage();
    problems.push(watchForProblems(sibling));
    await sibling.goto(`http://evil.site.localhost:${foreign.port}/`);
    // The prefixed name with a Domain: the browser refuses it. The old name (a longer path is sent
    // first): the browser keeps it, and a server reading the first refresh cookie would use it.
    for (const cookie of [
      `__Host-refresh_token=${planted}; Domain=site.localhost; Path=/; Secure`,
      `refresh_token=${planted}; Domain=site.localhost; Path=/refresh; Secure`,
    ]) {
      await sibling.evaluate(`document.cookie = ${JSON.stringify(cookie)}`);
    }
    expect((await context.cookies()).map(({ name, domain }) => ({ name, domain })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '__Host-refresh_token', domain: 'app.site.localhost' },
      { name: 'refresh_token', domain: '.site.localhost' },
    ]);

    const mark = served.seen.length;
    const answer = demo.waitForResponse((res) => res.url() === `${appOrigin}/refresh`);
    await refreshNow(demo);
    const refreshed = (await (await answer).json()) as { user: { email: string } };
    expect(refreshed.user.email).toBe(email);
    const [refresh] = after(served.seen, mark, 'POST', '/refresh');
    // The planted cookie went along, first, and changed nothing.
    expect(refresh).toMatchObject({ status: 200, cookie: expect.stringMatching(new RegExp(`^refresh_token=${planted}; __Host-refresh_token=`)) });
    expect(await demo.textContent('#profile-email')).toBe(email);
  });

  it('gives a page on another origin no way to refresh with the cookie', async () => {
    const { served } = await startServer({ CORS_ORIGINS: `http://localhost:${foreign.port}` });
    const context = await newProfile();
    const demo = await openDemo(context, served);
    await signUp(demo);
    const refreshUrl = `${served.origin}/refresh`;
    const tryRefresh = `fetch(${JSON.stringify(refreshUrl)}, { method: 'POST', credentials: 'include', headers: { 'X-Token-Mode': 'cookie' } })
      .then(async (res) => res.status + ' ' + (await res.json()).error_description, (error) => error.name + ': ' + error.message)`;

    // 1. Another port on the same host: same site, so the browser would send the cookie, but the
    //    origin is not in CORS_ORIGINS: the preflight is refused and the POST never leaves.
    const sameSite = await context.newPage();
    problems.push(watchForProblems(sameSite));
    await sameSite.goto(`http://127.0.0.1:${foreign.port}/`);
    let mark = served.seen.length;
    expect(await sameSite.evaluate<string>(tryRefresh)).toBe('TypeError: Failed to fetch');
    expect(served.seen.slice(mark).map(({ method, path, allowOrigin }) => ({ method, path, allowOrigin }))).toEqual([
      { method: 'OPTIONS', path: '/refresh', allowOrigin: undefined },
    ]);

    // 2. A plain form post needs no preflight and carries the cookie, but cannot add X-Token-Mode:
    //    the server ignores the cookie.
    foreign.setFormTarget(refreshUrl);
    await sameSite.reload();
    mark = served.seen.length;
    await Promise.all([sameSite.waitForURL(refreshUrl), sameSite.click('button')]);
    expect(JSON.parse(await sameSite.locator('body').innerText())).toEqual({
      error: 'invalid_grant',
      error_description: 'A refresh token is required.',
    });
    expect(served.seen.slice(mark)).toEqual([
      expect.objectContaining({ method: 'POST', path: '/refresh', status: 401, tokenMode: undefined, cookie: expect.stringMatching(/^__Host-refresh_token=/) }),
    ]);

    // 3. An origin CORS_ORIGINS does allow, but on another site (localhost is not 127.0.0.1):
    //    the call goes through and its answer is readable, yet SameSite=Strict kept the cookie home.
    const crossSite = await context.newPage();
    problems.push(watchForProblems(crossSite));
    await crossSite.goto(`http://localhost:${foreign.port}/`);
    mark = served.seen.length;
    expect(await crossSite.evaluate<string>(tryRefresh)).toBe('401 A refresh token is required.');
    expect(after(served.seen, mark, 'POST', '/refresh')).toEqual([
      expect.objectContaining({ origin: `http://localhost:${foreign.port}`, allowOrigin: `http://localhost:${foreign.port}`, cookie: undefined }),
    ]);

    // None of it touched the session: the demo tab still refreshes with its cookie.
    mark = served.seen.length;
    await refreshNow(demo);
    expect(after(served.seen, mark, 'POST', '/refresh').map((entry) => entry.status)).toEqual([200]);
  });
});
