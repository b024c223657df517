// The hash-password command (src/cli/hash-password.ts under tsx): a password on stdin in, one bcrypt hash out, by registration's rules.
import bcrypt from 'bcrypt';
import request from 'supertest';
import { parseUsersFile, provisionUsers } from '../../src/auth/provision-users';
import { buildTestApp } from '../helpers/build-app';
import { killStartedChildren, spawnTs } from '../helpers/child-process';
import { uniqueEmail } from '../helpers/fixtures';

afterEach(() => {
  killStartedChildren();
});

/** Runs the command with `input` piped to stdin and waits (bounded) for it to exit. */
async function hashPassword(input: string, env: Record<string, string> = { BCRYPT_COST: '10' }) {
  const child = spawnTs('src/cli/hash-password.ts', { env });
  child.proc.stdin!.end(input);
  const exit = await child.waitForExit();
  return { code: exit.code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('npm run hash-password', () => {
  it('prints one bcrypt hash line at BCRYPT_COST that bcrypt accepts for the password', async () => {
    const password = 'Tr0ub4dor&3-e2e-pass';
    const result = await hashPassword(`${password}\n`);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\$2b\$10\$[./A-Za-z0-9]{53}\n$/);
    await expect(bcrypt.compare(password, result.stdout.trim())).resolves.toBe(true);
    await expect(bcrypt.compare(`${password}\n`, result.stdout.trim())).resolves.toBe(false);
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it('uses cost 12 when BCRYPT_COST is not set', async () => {
    const password = 'default-cost-password';
    const result = await hashPassword(password, {});

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}\n$/);
    await expect(bcrypt.compare(password, result.stdout.trim())).resolves.toBe(true);
  });

  it('accepts a password of exactly 72 bytes in UTF-8, hashed by bcrypt as it is', async () => {
    const password = 'é'.repeat(36);
    expect(Buffer.byteLength(password)).toBe(72);
    const result = await hashPassword(`${password}\n`);

    expect(result.code).toBe(0);
    await expect(bcrypt.compare(password, result.stdout.trim())).resolves.toBe(true);
  });

  it.each([
    ['25 CJK characters (75 bytes)', '我们在山顶上看到了日出和云海还有远处的城市灯火真美丽啊'.slice(0, 25)],
    ['128 characters', `${'Lq7-'.repeat(31)}Zx9#`],
  ])('hashes a password of %s that logs in through USERS_FILE, and its first 72 bytes do not', async (_what, password) => {
    const result = await hashPassword(`${password}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\$2b\$10\$[./A-Za-z0-9]{53}\n$/);

    // What an operator does next: the hash in USERS_FILE, then a login with the password.
    const { app } = buildTestApp();
    const email = uniqueEmail('provisioned');
    await provisionUsers(app.services.accounts, parseUsersFile(JSON.stringify([{ email, password_hash: result.stdout.trim() }]), 10));
    expect((await request(app).post('/login').send({ email, password })).status).toBe(200);
    const head = Buffer.from(password).subarray(0, 72).toString('utf8').replace(/\uFFFD$/, '');
    expect((await request(app).post('/login').send({ email, password: head })).status).toBe(401);
  });

  it.each([
    ['7 characters', 'Sh0rt7!', 'The password must be at least 8 characters.'],
    ['4 two-byte characters (8 bytes)', 'éèêë', 'The password must be at least 8 characters.'],
    ['129 characters', 'Lq7'.repeat(43), 'The password must be at most 128 characters.'],
    ['one of the most common passwords', 'Password1', 'The password is one of the most common passwords; choose one that is harder to guess.'],
  ])('refuses a password of %s: exit code 2, a message on stderr, nothing on stdout', async (_what, password, message) => {
    const result = await hashPassword(`${password}\n`);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message}\n`);
    expect(result.stderr).not.toContain(password);
  });

  it('refuses a BCRYPT_COST outside 10 to 15 with exit code 2 and nothing on stdout', async () => {
    const result = await hashPassword('a-good-password\n', { BCRYPT_COST: '9' });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/BCRYPT_COST/);
  });
});
