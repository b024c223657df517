// The real process (src/server.ts under tsx): start-up rules for secrets, USERS_FILE, and a graceful SIGTERM.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcrypt';
import {
  acceptsConnections,
  freePort,
  killStartedChildren,
  requestJson,
  spawnTs,
  type RunningChild,
} from '../helpers/child-process';
import { MEMORY_STORAGE_NOTICE } from '../../src/stores/open-stores';

const PASSWORD = 'correct horse battery staple';
const STRONG = {
  JWT_SECRET: 'e2e-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'e2e-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
};
/** What a generated secret looks like (48 random bytes in base64url); no log line may hold one. */
const SECRET_LIKE = /[A-Za-z0-9_-]{43,}/;

let tempDirs: string[] = [];

afterEach(() => {
  killStartedChildren();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs = [];
});

async function spawnServer(env: Record<string, string>): Promise<{ child: RunningChild; port: number }> {
  const port = await freePort();
  const child = spawnTs('src/server.ts', { isolateConfig: true, env: { PORT: String(port), HOST: '127.0.0.1', ...env } });
  return { child, port };
}

async function startServer(env: Record<string, string>) {
  const started = await spawnServer(env);
  await started.child.waitForOutput(/"msg":"listening on /);
  return started;
}

/** The JSON log lines the process wrote on stdout. */
function logLines(child: RunningChild): { level: number; msg: string }[] {
  return child
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

function usersFile(entries: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-users-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'users.json');
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

describe('starting outside production', () => {
  it('starts without any secret, warns about JWT_SECRET without printing a secret, and answers /health', async () => {
    const { child, port } = await startServer({});

    const warnings = logLines(child).filter((line) => line.level === 40);
    expect(warnings.map((line) => line.msg)).toEqual([
      expect.stringMatching(/^JWT_SECRET\b.*restart/),
      expect.stringMatching(/^JWT_REFRESH_SECRET\b.*restart/),
      expect.stringMatching(/^MFA_ENCRYPTION_KEY is not set: using a random one/),
      MEMORY_STORAGE_NOTICE,
    ]);
    expect(child.stdout()).not.toMatch(SECRET_LIKE);
    expect(child.stderr()).not.toMatch(SECRET_LIKE);

    const health = await requestJson(port, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(health.body).toEqual({ status: 'ok' });
  });
});

describe('starting in production', () => {
  it('refuses to start without secrets: exits non-zero before listening, naming both variables', async () => {
    const { child, port } = await spawnServer({ NODE_ENV: 'production' });

    const exit = await child.waitForExit();
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(child.stderr()).toMatch(/JWT_SECRET: /);
    expect(child.stderr()).toMatch(/JWT_REFRESH_SECRET: /);
    expect(child.stdout()).not.toMatch(/listening/);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });

  it('refuses weak secrets without ever printing them', async () => {
    const weak = {
      JWT_SECRET: 'weak-e2e-qqzx',
      JWT_REFRESH_SECRET: 'your-super-secret-jwt-token-with-at-least-32-characters-long',
    };
    const { child, port } = await spawnServer({ NODE_ENV: 'production', ...weak });

    expect((await child.waitForExit()).code).toBe(1);
    const output = child.stdout() + child.stderr();
    expect(child.stderr()).toMatch(/JWT_SECRET: /);
    expect(child.stderr()).toMatch(/JWT_REFRESH_SECRET: /);
    expect(output).not.toContain(weak.JWT_SECRET);
    expect(output).not.toContain(weak.JWT_REFRESH_SECRET);
    expect(output).not.toMatch(/qqzx|super-secret/);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });

  it('starts with strong, distinct secrets and gives no warning about them', async () => {
    const { child, port } = await startServer({ NODE_ENV: 'production', ...STRONG });
    // Nothing about the JWT secrets: only that second factors, like everything else, live in memory.
    expect(logLines(child).filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([
      expect.stringMatching(/^MFA_ENCRYPTION_KEY is not set: using a random one \(TOTP factors are in memory/),
      MEMORY_STORAGE_NOTICE,
    ]);
    expect((await requestJson(port, 'GET', '/health')).status).toBe(200);
    const output = child.stdout() + child.stderr();
    expect(output).not.toContain(STRONG.JWT_SECRET);
    expect(output).not.toContain(STRONG.JWT_REFRESH_SECRET);
  });
});

describe('a port already taken', () => {
  it('exits with code 1 after logging why, at fatal level: the last line is written before the exit', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const child = spawnTs('src/server.ts', { isolateConfig: true, env: { PORT: String(port), HOST: '127.0.0.1', ...STRONG } });
      expect((await child.waitForExit()).code).toBe(1);
      const lines = logLines(child);
      expect(lines.at(-1)).toMatchObject({ level: 60, msg: 'cannot listen' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('SIGTERM', () => {
  it('lets an in-flight login finish, refuses new connections, and exits with code 0', async () => {
    // Default BCRYPT_COST (12): a login spends about 250 ms in bcrypt, long enough to be in flight.
    const { child, port } = await startServer({ ...STRONG });
    const email = 'sigterm@example.com';
    const registered = await requestJson(port, 'POST', '/register', { body: { email, password: PASSWORD } });
    expect(registered.status).toBe(201);

    let signalled: Promise<void> | undefined;
    const login = requestJson(port, 'POST', '/login', {
      body: { email, password: PASSWORD },
      onSent: () => {
        // The request has reached the socket; give the server a moment to read it (well under
        // bcrypt's ~250 ms), so the signal lands while the login is being processed.
        signalled = new Promise((resolve) => setTimeout(resolve, 50)).then(() => {
          process.kill(child.pid, 'SIGTERM');
        });
      },
    });

    const res = await login;
    await signalled;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), user: { email } });
    await expect(acceptsConnections(port)).resolves.toBe(false);

    const exit = await child.waitForExit(12_000);
    expect(exit).toEqual({ code: 0, signal: null });
    // The login was still in flight when the shutdown began, and finished before the close.
    const lines = child.stdout().split('\n');
    const shuttingDown = lines.findIndex((line) => /"signal":"SIGTERM".*"msg":"shutting down"/.test(line));
    const loginDone = lines.findIndex((line) => /"path":"\/login".*"status":200/.test(line));
    const closed = lines.findIndex((line) => /"msg":"closed"/.test(line));
    expect(shuttingDown).toBeGreaterThan(-1);
    expect(loginDone).toBeGreaterThan(shuttingDown);
    expect(closed).toBeGreaterThan(loginDone);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });
});

describe('USERS_FILE', () => {
  it('loads the listed admin, who can log in and list the users', async () => {
    const hash = await bcrypt.hash(PASSWORD, 10);
    const file = usersFile([{ email: ' Root@Example.com ', password_hash: hash, role: 'admin' }]);
    const { child, port } = await startServer({ ...STRONG, BCRYPT_COST: '10', USERS_FILE: file });
    expect(child.stdout()).not.toContain(hash);

    const login = await requestJson(port, 'POST', '/login', { body: { email: 'root@example.com', password: PASSWORD } });
    expect(login.status).toBe(200);
    const tokens = login.body as { access_token: string; user: { email: string; role: string } };
    expect(tokens.user).toMatchObject({ email: 'root@example.com', role: 'admin' });

    const users = await requestJson(port, 'GET', '/admin/users', {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(users.status).toBe(200);
    expect(users.body).toEqual({
      users: [
        {
          id: expect.any(String),
          email: 'root@example.com',
          role: 'admin',
          created_at: expect.any(String),
          // A USERS_FILE address counts as verified: the operator vouches for it.
          email_verified: true,
          mfa_enabled: false,
          disabled: false,
          last_login_at: expect.any(String),
        },
      ],
      next_cursor: null,
    });
  });

  it.each([
    [
      'a bad hash',
      (hash: string) => [{ email: 'a@example.com', password_hash: hash.slice(0, 40), role: 'admin' }],
      /entry 0: password_hash/,
    ],
    [
      'an unknown field',
      (hash: string) => [
        { email: 'a@example.com', password_hash: hash },
        { email: 'b@example.com', password_hash: hash, password: PASSWORD },
      ],
      /entry 1: password\b.*unknown field/,
    ],
    [
      'a duplicate email',
      (hash: string) => [
        { email: 'a@example.com', password_hash: hash },
        { email: 'A@example.com', password_hash: hash, role: 'admin' },
      ],
      /entry 1: email appears twice/,
    ],
  ])('refuses to start with %s, naming the entry but never the hash', async (_what, entries, message) => {
    const hash = await bcrypt.hash(PASSWORD, 10);
    const { child, port } = await spawnServer({ ...STRONG, BCRYPT_COST: '10', USERS_FILE: usersFile(entries(hash)) });

    expect((await child.waitForExit()).code).toBe(1);
    expect(child.stderr()).toMatch(/USERS_FILE/);
    expect(child.stderr()).toMatch(message);
    const output = child.stdout() + child.stderr();
    expect(output).not.toContain(hash.slice(7, 40));
    expect(output).not.toContain(PASSWORD);
    await expect(acceptsConnections(port)).resolves.toBe(false);
  });
});
