// The hash-password command (src/cli/hash-password.ts under tsx): a password on stdin in, one bcrypt hash out.
import bcrypt from 'bcrypt';
import { killStartedChildren, spawnTs } from '../helpers/child-process';

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

  it('accepts a password of exactly 72 bytes in UTF-8', async () => {
    const password = 'é'.repeat(36);
    expect(Buffer.byteLength(password)).toBe(72);
    const result = await hashPassword(`${password}\n`);

    expect(result.code).toBe(0);
    await expect(bcrypt.compare(password, result.stdout.trim())).resolves.toBe(true);
  });

  it.each([
    ['73 bytes', `${'é'.repeat(36)}q`, /at most 72 bytes/],
    ['73 ASCII bytes', 'Lq7'.repeat(24) + 'Z', /at most 72 bytes/],
    ['7 bytes', 'Sh0rt7!', /at least 8 bytes/],
  ])('refuses a password of %s: exit code 2, a message on stderr, nothing on stdout', async (_what, password, message) => {
    const result = await hashPassword(`${password}\n`);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(password);
  });

  it('refuses a BCRYPT_COST outside 10 to 15 with exit code 2 and nothing on stdout', async () => {
    const result = await hashPassword('a-good-password\n', { BCRYPT_COST: '9' });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/BCRYPT_COST/);
  });
});
