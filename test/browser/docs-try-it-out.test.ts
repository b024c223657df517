// Swagger UI at /docs in real Chromium, under the page's own CSP: "Try it out" sends the request to this server and shows its answer, with nothing refused by the policy.
import type { Browser, Page } from 'playwright-core';
import { buildTestApp } from '../helpers/build-app';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures';
import { describeInBrowser, launchChromium, screenshot, serveApp, watchForProblems, type ServedApp } from './harness';

describeInBrowser('Swagger UI "Try it out" at /docs in Chromium', () => {
  let browser: Browser;
  let served: ServedApp;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    browser = await launchChromium();
    served = await serveApp(buildTestApp().app);
    page = await browser.newPage();
    problems = watchForProblems(page);
    const res = await page.goto(`${served.origin}/docs`);
    // The page is served under its own policy, the one the calls below must get through.
    expect(res?.headers()['content-security-policy']).toContain("connect-src 'self'");
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Opens the operation, presses "Try it out", fills `body` if given, presses "Execute"; returns the live response's status and body as shown. */
  async function tryItOut(method: string, path: string, body?: unknown): Promise<{ status: string; body: string }> {
    const operation = page.locator(`.opblock-${method.toLowerCase()}`).filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    if (body !== undefined) await operation.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await operation.locator('button.execute').click();
    const live = operation.locator('.live-responses-table .response');
    await live.first().waitFor({ timeout: 10_000 });
    return {
      status: (await live.locator('.response-col_status').first().innerText()).trim(),
      body: await live.locator('.response-col_description pre').first().innerText(),
    };
  }

  it('sends GET /health to this server and shows 200 {"status": "ok"}', async () => {
    const shown = await tryItOut('GET', '/health');
    expect({ status: shown.status, body: JSON.parse(shown.body) }).toEqual({ status: '200', body: { status: 'ok' } });
    expect(served.seen.filter((seen) => seen.method === 'GET' && seen.path === '/health').map((seen) => seen.status)).toEqual([200]);
  });

  it('sends POST /register with the JSON body typed in, and shows the 201 with the new user', async () => {
    const email = uniqueEmail('swagger');
    const shown = await tryItOut('POST', '/register', { email, password: PASSWORD });
    expect({ status: shown.status, email: (JSON.parse(shown.body) as { user: { email: string } }).user.email }).toEqual({ status: '201', email });
    expect(served.seen.filter((seen) => seen.method === 'POST' && seen.path === '/register').map((seen) => seen.status)).toEqual([201]);
    await screenshot(page, 'docs-try-it-out');
  });

  it('lists the second-factor operations, each with its method and path', async () => {
    const shown = async (method: string, path: string) =>
      page.locator(`.opblock-${method}`).filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) }).count();
    expect({
      enrol: await shown('post', '/mfa/totp'),
      confirm: await shown('post', '/mfa/totp/confirm'),
      remove: await shown('delete', '/mfa/totp'),
      loginMfa: await shown('post', '/login/mfa'),
    }).toEqual({ enrol: 1, confirm: 1, remove: 1, loginMfa: 1 });
  });

  it('met no CSP refusal and no script error on the way', () => {
    expect(problems).toEqual([]);
  });
});
