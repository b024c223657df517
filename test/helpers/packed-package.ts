// The package as users get it: `npm pack` of this checkout, installed with the example app (examples/embedded-app) in a scratch folder, once per tarball.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { ROOT } from './child-process';

const run = promisify(execFile);
const NPM_CLI = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
/**
 * Outside the checkout, so that nothing resolves from its node_modules: a dependency missing from
 * the package's manifest fails here as it would for a user. One folder per checkout (tmp is shared).
 */
const ARTIFACTS = path.join(tmpdir(), `auth-server-package-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`);
const EXAMPLE = path.join(ROOT, 'examples/embedded-app');

export interface PackedFile {
  path: string;
  size: number;
}

export interface InstalledPackage {
  /** The tarball `npm pack` wrote. */
  tarball: string;
  /** What the tarball holds, as `npm pack --json` lists it. */
  files: PackedFile[];
  /** The example app, with `auth-server` installed from the tarball in its node_modules. */
  appDir: string;
}

/** The test's own environment minus npm's per-run variables (`npm test` sets them), which would steer the nested npm. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

export async function npm(args: string[], cwd: string, timeout = 240_000): Promise<string> {
  const { stdout } = await run(process.execPath, [NPM_CLI, ...args], { cwd, env: npmEnv(), timeout, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * Packs the checkout (its `prepare` builds dist/ first) and installs the example app from the
 * tarball. Test files run in parallel workers: a lock makes one of them install and the others
 * wait; an install of the same tarball (by its shasum) is reused.
 */
export function installedPackage(): Promise<InstalledPackage> {
  // Once per test file (each has its own module registry); across files, the lock and the shasum below.
  packing ??= packAndInstall();
  return packing;
}

let packing: Promise<InstalledPackage> | undefined;

async function packAndInstall(): Promise<InstalledPackage> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const release = await lockfile.lock(ARTIFACTS, { retries: { retries: 600, minTimeout: 500, maxTimeout: 500 }, stale: 300_000 });
  try {
    const [packed] = JSON.parse(await npm(['pack', '--json', '--pack-destination', ARTIFACTS], ROOT)) as {
      filename: string;
      shasum: string;
      files: PackedFile[];
    }[];
    const tarball = path.join(ARTIFACTS, packed!.filename);
    const appDir = path.join(ARTIFACTS, 'embedded-app');
    const marker = path.join(appDir, '.installed-from');
    if (!existsSync(marker) || readFileSync(marker, 'utf8') !== packed!.shasum) {
      rmSync(appDir, { recursive: true, force: true });
      cpSync(EXAMPLE, appDir, { recursive: true, filter: (source) => !source.includes('node_modules') });
      const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      manifest.dependencies['auth-server'] = `file:${tarball}`;
      writeFileSync(path.join(appDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'], appDir);
      writeFileSync(marker, packed!.shasum);
    }
    return { tarball, files: packed!.files, appDir };
  } finally {
    await release();
  }
}
