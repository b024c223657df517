// What the Redis and PostgreSQL suites share: finding the service, and skipping (or, in CI, failing) without it.
import { spawnSync } from 'node:child_process';
import { inCi } from './ci';

/** Whether a TCP connection to the URL's host and port opens within two seconds (checked in a child: describe() is synchronous). */
export function tcpAnswers(url: string, defaultPort: number): boolean {
  const { hostname, port } = new URL(url);
  const script = `require('net').connect({host: process.argv[1], port: +process.argv[2]})
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script, hostname, port || String(defaultPort)], { timeout: 5000 }).status === 0;
}

/** A service the tests found: `url` null when none answers; `tried` says where it was looked for. */
export interface FoundService {
  url: string | null;
  tried: string;
}

/**
 * describe() for suites that need `service`. Without one they are skipped with a line saying so
 * (and how to get one), except in CI (see ci.ts), where a missing service fails.
 */
export function describeWithService(
  service: { name: string; found: FoundService; howToGetOne: string; ciSetup: string },
  name: string,
  body: (url: string) => void,
): void {
  const { found } = service;
  if (found.url) {
    const url = found.url;
    describe(name, () => body(url));
    return;
  }
  if (inCi()) {
    describe(name, () => {
      it(`has a ${service.name} server to run against (CI)`, () => {
        throw new Error(`no ${service.name} at ${found.tried}: CI must provide one (${service.ciSetup})`);
      });
    });
    return;
  }
  console.warn(`${name}: SKIPPED, no ${service.name} at ${found.tried} (${service.howToGetOne})`);
  describe.skip(`${name} (SKIPPED: no ${service.name} at ${found.tried})`, () => body(''));
}
