// The built server (node dist/server.js, as production runs it) as a real process on a free port, and the JSON lines it logs.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { freePort, ROOT, spawnNode, type RunningChild } from './child-process';

const SERVER = path.join(ROOT, 'dist/server.js');

/** Strong, distinct secrets: a process started with them prints no warning about secrets. */
export const STRONG_SECRETS = {
  JWT_SECRET: 'e2e-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'e2e-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
};

/**
 * `npm test` builds first (its pretest script); a bare `npx jest` may find dist/ older than src/, and
 * would then test yesterday's code. `tsc -b` (what `npm run build` runs) rebuilds only what changed,
 * and nothing, in under a second, when dist/ is current.
 */
export function ensureFreshBuild(): void {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * Starts the server with a clean environment plus `env`, and waits until it listens. Plain node,
 * not tsx: tsx relays a SIGTERM only if its child acknowledges it within 30 ms, and SIGKILLs a
 * child too busy to (seen here under load), which is not the shutdown under test.
 */
export async function startServerProcess(env: Record<string, string> = {}): Promise<{ child: RunningChild; port: number }> {
  ensureFreshBuild();
  const port = await freePort();
  const child = spawnNode(SERVER, { isolateConfig: true, env: { PORT: String(port), HOST: '127.0.0.1', ...STRONG_SECRETS, ...env } });
  await child.waitForOutput(/"msg":"listening on /);
  return { child, port };
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The JSON log lines the process wrote on stdout so far. */
export function logLinesOf(child: RunningChild): LogLine[] {
  return child
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}
