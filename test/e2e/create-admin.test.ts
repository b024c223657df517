// The create-admin command (src/cli/create-admin.ts under tsx): an admin created or promoted in the store DATABASE_URL names, a password from a pipe, never memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createLogger } from '../../src/lib/logger';
import { openSqlStores } from '../../src/stores/sql';
import { buildTestApp } from '../helpers/build-app';
import { killStartedChildren, spawnTs } from '../helpers/child-process';
import { FakeClock } from '../helpers/fake-clock';
import { login, PASSWORD } from '../helpers/fixtures';

const directory = mkdtempSync(path.join(tmpdir(), 'create-admin-'));
const DATABASE_URL = `file:${directory}`;

afterEach(() => killStartedChildren());
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function createAdmin(args: string[], input: string, env: Record<string, string> = { DATABASE_URL, BCRYPT_COST: '10' }) {
  const child = spawnTs('src/cli/create-admin.ts', { env, args, isolateConfig: true });
  child.proc.stdin!.end(input);
  const exit = await child.waitForExit(60_000);
  return { code: exit.code, stdout: child.stdout(), stderr: child.stderr() };
}

/** The app on the command's database, for as long as `use` runs (one process may hold the directory). */
async function withApp(use: (app: ReturnType<typeof buildTestApp>['app']) => Promise<void>) {
  const clock = new FakeClock();
  const stores = await openSqlStores({ target: { kind: 'pglite', directory, schema: 'auth' }, clock, accessTtlMs: 900_000, logger: createLogger('silent') });
  await stores.whenReady(10_000);
  const { app } = buildTestApp({ clock, stores });
  try {
    await use(app);
  } finally {
    await app.services.mailer.close();
    await stores.close();
  }
}

describe('npm run create-admin', () => {
  it('refuses the memory store: an admin made there would vanish with the command', async () => {
    const result = await createAdmin(['ops@example.com'], `${PASSWORD}\n`, { BCRYPT_COST: '10' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Neither DATABASE_URL nor REDIS_URL is set');
  });

  it('refuses no email or a bad one with the usage', async () => {
    expect((await createAdmin([], '')).stderr).toContain('Usage: npm run create-admin -- EMAIL');
    const bad = await createAdmin(['not-an-email'], '');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a valid email address');
  });

  it('creates an admin whose piped password logs in, verified, and never prints the password', async () => {
    const result = await createAdmin(['Ops@Example.com'], `${PASSWORD}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created admin ops@example\.com \([A-Za-z0-9_-]{22}\)\.\n$/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    await withApp(async (app) => {
      const tokens = await login(app, 'ops@example.com');
      expect(tokens.user).toMatchObject({ email: 'ops@example.com', role: 'admin', email_verified: true });
      expect((await request(app).get('/admin/users').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      // A user to promote in the next test.
      expect((await request(app).post('/register').send({ email: 'dev@example.com', password: PASSWORD })).status).toBe(201);
    });
  });

  it('refuses a common password with registration\'s rule', async () => {
    const result = await createAdmin(['new-admin@example.com'], 'password123\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('The password');
  });

  it('promotes an existing user without asking for or changing the password', async () => {
    const result = await createAdmin(['dev@example.com'], '');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Promoted to admin: dev@example\.com \(.+\); the password is unchanged\.\n$/);
    await withApp(async (app) => {
      expect((await login(app, 'dev@example.com')).user.role).toBe('admin');
    });
  });
});
