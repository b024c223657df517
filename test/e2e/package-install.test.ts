// The package a user installs: what `npm pack` ships, and the root and ./verify exports used from a folder it was installed into.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/child-process';
import { installedPackage, npm, type InstalledPackage } from '../helpers/packed-package';

const run = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

let installed: InstalledPackage;

describe('npm pack', () => {
  beforeAll(async () => {
    installed = await installedPackage();
  }, 300_000);

  it('ships the built code with its types, the demo page, README and LICENSE', () => {
    const files = installed.files.map((file) => file.path);
    for (const shipped of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/verify.js', 'dist/verify.d.ts', 'dist/server.js', 'dist/client/auth-client.d.mts', 'public/index.html', 'public/auth-client.mjs']) {
      expect(files).toContain(shipped);
    }
  });

  it('ships nothing of the tests, benchmarks, CI, sources or examples, and no source maps or build state', () => {
    const unwanted = installed.files.map((file) => file.path).filter((file) => /^(test|bench|\.ci|src|examples|postman|docs)\//.test(file) || /\.map$|tsbuildinfo/.test(file));
    expect(unwanted).toEqual([]);
  });
});

describe('the installed package', () => {
  beforeAll(async () => {
    installed = await installedPackage();
  }, 300_000);

  it('gives createAuth from the root and the verifier from ./verify, both resolved from the install', async () => {
    const script = path.join(installed.appDir, 'use-installed-package.js');
    copyFileSync(path.join(ROOT, 'test/e2e/fixtures/use-installed-package.js'), script);
    const { stdout } = await run(process.execPath, [script], { cwd: installed.appDir, timeout: 60_000 });
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    const installedDir = path.join(installed.appDir, 'node_modules/auth-server');
    expect(seen).toEqual({
      root: path.join(installedDir, 'dist/index.js'),
      verify: path.join(installedDir, 'dist/verify.js'),
      registered: 201,
      login: 200,
      userId: expect.any(String),
      verified: { status: 200, body: { sub: seen.userId } },
      forged: { status: 401, body: { error: 'invalid_token', error_description: 'token invalid' } },
    });
  });

  it('type-checks TypeScript that uses both exports, against the types it ships', async () => {
    const usage = path.join(installed.appDir, 'usage.ts');
    writeFileSync(
      usage,
      [
        "import { createAuth, type Auth } from 'auth-server';",
        "import { createVerifyToken } from 'auth-server/verify';",
        "const ready: Promise<Auth> = createAuth({ env: { JWT_SECRET: 'x' } });",
        "void ready.then((auth) => auth.router.use(auth.verifyToken, auth.requireRole('admin')));",
        "createVerifyToken({ keys: { main: 'x' }, issuer: 'auth-server', audience: 'api' });",
        // A wrong option must not type-check: @ts-expect-error fails the compile when there is no error.
        '// @ts-expect-error: createAuth takes env, not environment',
        'void createAuth({ environment: {} });',
        '',
      ].join('\n'),
    );
    // @types/express and @types/node come from this checkout, as a TypeScript user's app has its own.
    const types = path.join(ROOT, 'node_modules/@types');
    const tsconfig = path.join(installed.appDir, 'tsconfig.usage.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', types: ['node'], typeRoots: [types], baseUrl: '.', paths: { express: [path.join(types, 'express')] } },
        files: ['usage.ts'],
      }),
    );
    await expect(run(process.execPath, [TSC, '-p', tsconfig], { cwd: installed.appDir, timeout: 60_000 })).resolves.toBeDefined();
  }, 90_000);
});

describe('installing from a git URL', () => {
  // What `npm install git+https://…/auth-server.git` does, with this checkout's last commit as the repository.
  const isGitCheckout = existsSync(path.join(ROOT, '.git'));
  (isGitCheckout ? it : it.skip)('builds dist/ through the prepare script, so the root export loads', async () => {
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT });
    const dir = mkdtempSync(path.join(tmpdir(), 'auth-server-git-install-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'git-install', private: true }));
      await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', `git+file://${ROOT}#${head.trim()}`], dir);
      const { stdout } = await run(process.execPath, ['-e', "process.stdout.write(JSON.stringify(Object.keys(require('auth-server')).sort()))"], { cwd: dir });
      expect(JSON.parse(stdout)).toEqual(['ConfigError', 'createAuth']);
      expect(existsSync(path.join(dir, 'node_modules/auth-server/dist/index.d.ts'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
