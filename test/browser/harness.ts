// Browser test harness: Debian's Chromium through playwright-core, plainly skipped when absent (never in CI), and servers to point it at.
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AuthApp } from '../../src/app';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { ROOT } from '../helpers/child-process';
import { inCi } from '../helpers/ci';
import { FakeClock } from '../helpers/fake-clock';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** TOOLCHAIN 13: what Debian's Chromium needs to run headless as root in a container. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of the main states land here (gitignored), for a person to look at after a run. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'browser');


/**
 * describe() for suites that need Chromium. Without one, outside CI the suite is skipped and says
 * so; in CI it fails, because a green run must never hide a browser that was not there.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    describe(name, body);
    return;
  }
  const why = `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium, or set CHROMIUM_PATH)`;
  if (inCi()) {
    describe(name, () => {
      it('needs Chromium, which CI installs with .ci/setup-chromium.sh', () => {
        throw new Error(`The browser tests cannot run in CI: ${why}.`);
      });
    });
    return;
  }
  console.warn(`Browser tests skipped: ${why}.`);
  describe.skip(`${name} (skipped: ${why})`, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, timeout: 20_000 });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Collects what would show a broken page: script errors and anything the CSP refused. The demo
 * must work under its strict policy, so a refusal is a failure, not noise.
 */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** One request as the server saw it, and how it answered. */
export interface SeenRequest {
  method: string;
  path: string;
  origin?: string;
  cookie?: string;
  tokenMode?: string;
  authorization?: string;
  status?: number;
  /** The answer's WWW-Authenticate. */
  challenge?: string;
  /** The answer's Access-Control-Allow-Origin. */
  allowOrigin?: string;
}

export interface ServedApp {
  origin: string;
  port: number;
  /** Every request so far, oldest first; each entry gets its answer's fields once sent. */
  seen: SeenRequest[];
  /**
   * Holds every POST /refresh from now on until released: `arrived` resolves at the first one. While
   * one is held, a test can start more refreshes and see whether they reach the server at all.
   */
  gateRefreshes(): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

const header = (req: http.IncomingMessage, name: string) => req.headers[name] as string | undefined;

/** Listens with the app on 127.0.0.1 and a free port, recording every request on its way in. */
export async function serveApp(app: AuthApp): Promise<ServedApp> {
  const seen: SeenRequest[] = [];
  let gate: { waiting: (() => void)[]; arrived: () => void } | null = null;

  const server = http.createServer((req, res) => {
    const entry: SeenRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      origin: header(req, 'origin'),
      cookie: header(req, 'cookie'),
      tokenMode: header(req, 'x-token-mode'),
      authorization: header(req, 'authorization'),
    };
    seen.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.challenge = res.getHeader('www-authenticate') as string | undefined;
      entry.allowOrigin = res.getHeader('access-control-allow-origin') as string | undefined;
    });
    const pass = () => void app(req, res);
    if (gate && req.method === 'POST' && req.url === '/refresh') {
      gate.waiting.push(pass);
      gate.arrived();
      return;
    }
    pass();
  });
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    gateRefreshes() {
      let arrived!: () => void;
      const first = new Promise<void>((resolve) => (arrived = resolve));
      const current = { waiting: [] as (() => void)[], arrived };
      gate = current;
      return {
        arrived: first,
        release() {
          if (gate === current) gate = null;
          current.waiting.splice(0).forEach((release) => release());
        },
      };
    },
    close: () => close(server),
  };
}

/** A test app (fake clock, 15 min access tokens) served on a port of its own; its closing joins `cleanups`. */
export async function serveTestApp(env: Record<string, string>, cleanups: (() => Promise<unknown>)[]): Promise<TestApp & { served: ServedApp }> {
  const world = buildTestApp({ env, clock: new FakeClock() });
  const served = await serveApp(world.app);
  cleanups.push(() => served.close());
  return { ...world, served };
}

export interface ForeignSite {
  port: number;
  /** The form on its page posts here. */
  setFormTarget(url: string): void;
  close(): Promise<void>;
}

/**
 * Another origin (another port), as an attacker's or an unrelated site's page: a bare page whose
 * form posts to the server, and from which a test runs fetch().
 */
export async function serveForeignSite(): Promise<ForeignSite> {
  let target = 'about:blank';
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><title>Another site</title><h1>Another site</h1>` +
        `<form method="post" action="${target}"><button type="submit">Send</button></form>`,
    );
  });
  const port = await listen(server);
  return {
    port,
    setFormTarget(url) {
      target = url;
    },
    close: () => close(server),
  };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Chromium keeps connections alive; the test is over, so drop them.
    server.closeAllConnections();
  });
}
