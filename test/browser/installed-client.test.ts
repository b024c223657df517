// auth-server/client as an app installs it: resolved through the exports map of the packed tarball's install, imported by a page in Chromium.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import type { Browser } from 'playwright-core';
import { buildTestApp } from '../helpers/build-app';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures';
import { installedPackage } from '../helpers/packed-package';
import { describeInBrowser, launchChromium, watchForProblems } from './harness';

/** A page of the app's own, importing the installed client from the app's own static path, as a bundler-free SPA would. */
const PAGE = `<!doctype html>
<title>installed client</title>
<script type="module">
  import { createAuthClient } from '/vendor/auth-client.mjs';
  window.auth = createAuthClient({ baseUrl: location.origin + '/auth', mode: 'memory' });
  window.started = auth.ready;
</script>`;

describeInBrowser('auth-server/client from the installed package', () => {
  let browser: Browser;
  let server: http.Server;
  let origin: string;
  let clientFile: string;
  let installDir: string;

  beforeAll(async () => {
    const installed = await installedPackage();
    installDir = path.join(installed.appDir, 'node_modules/auth-server');
    // What `import 'auth-server/client'` resolves to for the app (the "default" condition of the exports map).
    clientFile = require.resolve('auth-server/client', { paths: [installed.appDir] });
    const { app: auth } = buildTestApp();
    const host = express();
    host.use('/auth', auth.authRouter);
    host.get('/vendor/auth-client.mjs', (_req, res) => void res.type('text/javascript').send(readFileSync(clientFile)));
    host.get('/', (_req, res) => void res.type('html').send(PAGE));
    server = host.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('resolves to the module the package ships, with its declarations beside the built code', () => {
    expect(clientFile).toBe(path.join(installDir, 'public/auth-client.mjs'));
    expect(existsSync(path.join(installDir, 'dist/client/auth-client.d.mts'))).toBe(true);
    expect(readFileSync(path.join(installDir, 'dist/client/auth-client.d.mts'), 'utf8')).toMatch(/export function createAuthClient\(/);
  });

  it('signs a user in from a page and calls a protected route under the mount prefix', async () => {
    const page = await browser.newPage();
    const problems = watchForProblems(page);
    await page.goto(`${origin}/`);
    await page.waitForFunction('window.started !== undefined');
    await page.evaluate('started');
    const credentials = JSON.stringify({ email: uniqueEmail('installed'), password: PASSWORD });
    const outcome = await page.evaluate<{ login: string; profile: number; email: string }>(`(async () => {
      await auth.register(${credentials});
      const login = await auth.login(${credentials});
      const res = await auth.fetch('/profile');
      const body = await res.json();
      return { login: login.status, profile: res.status, email: body.user.email };
    })()`);
    expect(outcome).toEqual({ login: 'signed_in', profile: 200, email: JSON.parse(credentials).email });
    expect(problems).toEqual([]);
    await page.close();
  });
});
