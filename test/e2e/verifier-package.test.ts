// The `auth-server/verify` entry point, as another service gets it: what importing it loads, and the built files with their types.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/child-process';

const run = promisify(execFile);
const FIXTURE = path.join(ROOT, 'test/e2e/fixtures/load-verifier.js');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const TSC = path.join(ROOT, 'node_modules/.bin/tsc');

const EXPORTS = ['AppError', 'KeyVerifier', 'authErrorHandler', 'createAccessCheck', 'createVerifyToken', 'requireAmr', 'requireRole'];
/** All the verifier needs of the server's source: the token check, its middleware and their helpers. */
const VERIFIER_MODULES = [
  'auth/access-claims',
  'auth/access-verifier',
  'auth/ecdsa-low-s',
  'auth/jwks-client',
  'auth/jwt',
  'auth/keys',
  'errors',
  'http/auth-error-handler',
  'http/bearer',
  'http/verify-token',
  'lib/clock',
  'verify',
];
/** Packages of the server that a service importing the verifier must not get. */
const SERVER_PACKAGES = ['express', 'dotenv', 'pino', 'zod', 'bcrypt', 'ioredis', 'helmet', 'cors', 'express-rate-limit'];

interface LoadReport {
  exports: string[];
  loaded: string[];
  envReads: string[];
  opened: string[];
}

/** Every configuration variable of the server, as .env.example lists them. */
function configVariables(): string[] {
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  return [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
}

/** The package directories (name, or @scope/name) of the loaded files under a node_modules. */
function packagesOf(files: string[]): string[] {
  const names = files.flatMap((file) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    return match ? [match[1]!] : [];
  });
  return [...new Set(names)].sort();
}

const minimalEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };

describe('importing auth-server/verify (from source, through the package exports)', () => {
  let report: LoadReport;

  beforeAll(async () => {
    // --no-cache: tsx would otherwise write its transform cache in the background, an open file
    // request that is tsx's, not the verifier's.
    const { stdout } = await run(TSX, ['--no-cache', FIXTURE, 'auth-server/verify'], {
      cwd: ROOT,
      env: { ...minimalEnv, NODE_OPTIONS: '--conditions=auth-server-source' },
      timeout: 30_000,
    });
    report = JSON.parse(stdout) as LoadReport;
  });

  it('gives createVerifyToken, requireRole, authErrorHandler and their companions', () => {
    expect(report.exports).toEqual(EXPORTS);
  });

  it('loads only the verifier modules of the server: no config, stores, routes, logger or process', () => {
    const srcDir = path.join(ROOT, 'src') + path.sep;
    const project = report.loaded
      .filter((file) => file.startsWith(srcDir))
      .map((file) => file.slice(srcDir.length).replace(/\.ts$/, ''))
      .sort();
    expect(project).toEqual(VERIFIER_MODULES);
  });

  it('pulls in jsonwebtoken, and none of the packages the server itself runs on', () => {
    const packages = packagesOf(report.loaded);
    expect(packages).toContain('jsonwebtoken');
    expect(packages.filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
  });

  it('reads no configuration variable and opens no handle (no timer, socket or file) on import', () => {
    const variables = configVariables();
    expect(variables).toContain('JWT_SECRET');
    expect(report.envReads.filter((name) => variables.includes(name) || name.startsWith('DOTENV'))).toEqual([]);
    expect(report.opened).toEqual([]);
  });
});

describe('the built package entry (tsc into a scratch copy of the package)', () => {
  let pkg: string;

  beforeAll(async () => {
    pkg = mkdtempSync(path.join(tmpdir(), 'auth-server-pkg-'));
    // tsc writes the files even when some other part of src/ has a type error (typecheck reports
    // those); what matters here is what the build of the entry point contains.
    await run(TSC, ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(pkg, 'dist')], {
      cwd: ROOT,
      timeout: 120_000,
    }).catch((error: { stdout?: string }) => {
      if (!existsSync(path.join(pkg, 'dist/verify.js'))) throw new Error(`the build failed:\n${error.stdout}`);
    });
    copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    copyFileSync(FIXTURE, path.join(pkg, 'load-verifier.js'));
  }, 150_000);

  afterAll(() => {
    if (pkg) rmSync(pkg, { recursive: true, force: true });
  });

  it('resolves auth-server/verify to dist/verify.js with plain node, loading only verifier files', async () => {
    const { stdout } = await run(process.execPath, [path.join(pkg, 'load-verifier.js'), 'auth-server/verify'], {
      cwd: pkg,
      env: minimalEnv,
      timeout: 30_000,
    });
    const report = JSON.parse(stdout) as LoadReport;
    const distDir = path.join(pkg, 'dist') + path.sep;

    expect(report.exports).toEqual(EXPORTS);
    expect(report.loaded[0]).toBe(path.join(distDir, 'verify.js'));
    const project = report.loaded
      .filter((file) => file.startsWith(distDir))
      .map((file) => file.slice(distDir.length).replace(/\.js$/, ''))
      .sort();
    expect(project).toEqual(VERIFIER_MODULES);
    expect(packagesOf(report.loaded).filter((name) => SERVER_PACKAGES.includes(name))).toEqual([]);
    expect(report.opened).toEqual([]);
  });

  it('gives createAuth from the package root, and importing it starts nothing: no server, no store, nothing left running', async () => {
    // Were the root the server process, the import would listen and never let node exit (the timeout would end it).
    // fs.writeSync, not console.log: the console's first use opens a handle of its own on stdout.
    const script =
      "const root = require('auth-server'); require('fs').writeSync(1, JSON.stringify({ exports: Object.keys(root).sort(), handles: process.getActiveResourcesInfo() }));";
    writeFileSync(path.join(pkg, 'root.js'), script);
    const { stdout, stderr } = await run(process.execPath, [path.join(pkg, 'root.js')], { cwd: pkg, env: minimalEnv, timeout: 30_000 });
    const loaded = JSON.parse(stdout) as { exports: string[]; handles: string[] };
    // Express's `debug` dependency looks at stderr on import, which opens its pipe: stdio is not the server's doing.
    expect({ ...loaded, handles: loaded.handles.filter((handle) => handle !== 'PipeWrap' && handle !== 'TTYWrap') }).toEqual({ exports: ['ConfigError', 'createAuth'], handles: [] });
    expect(stderr).toBe('');
  });

  it('ships the types: the example service type-checks against dist/verify.d.ts as a consumer would', async () => {
    expect(existsSync(path.join(pkg, 'dist/verify.d.ts'))).toBe(true);
    const exampleDir = path.join(pkg, 'examples/notes-service');
    mkdirSync(exampleDir, { recursive: true });
    copyFileSync(path.join(ROOT, 'examples/notes-service/server.ts'), path.join(exampleDir, 'server.ts'));
    // A broken use of the API must fail the same check, or a pass would prove nothing.
    writeFileSync(
      path.join(exampleDir, 'misuse.ts'),
      "import { createVerifyToken } from 'auth-server/verify';\n" +
        "// @ts-expect-error issuer and audience are required\n" +
        "createVerifyToken({ keys: { k: 'x' } });\n" +
        "// @ts-expect-error req.auth.role is 'user' | 'admin'\n" +
        "export const role: 'owner' = ({} as import('auth-server/verify').AuthContext).role;\n",
    );
    writeFileSync(
      path.join(pkg, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          esModuleInterop: true,
          skipLibCheck: true,
        },
        include: ['examples'],
      }),
    );
    const result = await run(TSC, ['-p', path.join(pkg, 'tsconfig.json')], { cwd: pkg, timeout: 120_000 }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string }) => ({ ok: false, output: error.stdout ?? String(error) }),
    );
    expect(result).toEqual({ ok: true, output: '' });
  });
});
