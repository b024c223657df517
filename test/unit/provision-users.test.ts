// parseUsersFile: the USERS_FILE format, its normalisation, and error messages that name entries but never a hash.
import { PasswordHasher } from '../../src/auth/passwords';
import { UsersFileError, parseUsersFile } from '../../src/auth/provision-users';

const HASH_A = '$2b$10$Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKkLlZzXxCcVvBbNnMm.';
const HASH_B = '$2a$10$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234';
const HASH_Y = '$2y$10$0123456789./0123456789./0123456789./0123456789./01234';

function parse(entries: unknown): ReturnType<typeof parseUsersFile> {
  return parseUsersFile(JSON.stringify(entries), 10);
}

/** The UsersFileError thrown for `text`; fails the test when nothing or something else is thrown. */
function usersFileError(text: string): UsersFileError {
  try {
    parseUsersFile(text, 10);
  } catch (error) {
    if (error instanceof UsersFileError) return error;
    throw error;
  }
  throw new Error('parseUsersFile accepted the file');
}

function problemsOf(entries: unknown): string[] {
  const error = usersFileError(JSON.stringify(entries));
  expect(error.message.split('\n')[0]).toBe('USERS_FILE is invalid:');
  return error.message.split('\n').slice(1).map((line) => line.replace(/^\s+-\s/, ''));
}

describe('parseUsersFile', () => {
  it('reads a valid file into users with their hash and role, a $2y$ hash as the $2b$ it is', () => {
    expect(
      parse([
        { email: 'admin@example.com', password_hash: HASH_A, role: 'admin' },
        { email: 'user@example.com', password_hash: HASH_B, role: 'user' },
        { email: 'legacy@example.com', password_hash: HASH_Y, role: 'user' },
      ]),
    ).toEqual([
      { email: 'admin@example.com', passwordHash: HASH_A, role: 'admin' },
      { email: 'user@example.com', passwordHash: HASH_B, role: 'user' },
      { email: 'legacy@example.com', passwordHash: `$2b$${HASH_Y.slice(4)}`, role: 'user' },
    ]);
  });

  it('lets a user provisioned with a $2y$ hash (as PHP writes them) log in with their password', async () => {
    const hasher = new PasswordHasher(10);
    const php = (await hasher.hash('correct horse battery')).replace(/^\$2b\$/, '$2y$');
    const [user] = parse([{ email: 'php@example.com', password_hash: php }]);
    await expect(hasher.verify('correct horse battery', user!.passwordHash)).resolves.toBe(true);
    await expect(hasher.verify('wrong horse battery', user!.passwordHash)).resolves.toBe(false);
  });

  it('gives the role user when none is listed', () => {
    expect(parse([{ email: 'plain@example.com', password_hash: HASH_A }])).toEqual([
      { email: 'plain@example.com', passwordHash: HASH_A, role: 'user' },
    ]);
  });

  it('normalises emails as registration does: trimmed and lower-cased', () => {
    expect(parse([{ email: '  Root@Example.COM ', password_hash: HASH_A, role: 'admin' }])).toEqual([
      { email: 'root@example.com', passwordHash: HASH_A, role: 'admin' },
    ]);
  });

  it('takes internationalised emails in the normal form registration gives them (NFC, lower case, Unicode domain)', () => {
    expect(
      parse([
        { email: 'JOSE\u0301@xn--exmple-cua.com', password_hash: HASH_A },
        { email: '用户@例子.广告', password_hash: HASH_B },
      ]),
    ).toEqual([
      { email: 'josé@xn--exmple-cua.com', passwordHash: HASH_A, role: 'user' },
      { email: '用户@xn--fsqu00a.xn--4rr70v', passwordHash: HASH_B, role: 'user' },
    ]);
  });

  it('reads an empty array as no users', () => {
    expect(parse([])).toEqual([]);
  });

  it('refuses a file that is not JSON, without quoting it', () => {
    const text = `[{"email": "a@example.com", "password_hash": "${HASH_A}",]`;
    const error = usersFileError(text);
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.message).not.toContain(HASH_A);
    expect(error.name).toBe('UsersFileError');
  });

  it.each([
    ['an object', { email: 'a@example.com', password_hash: HASH_A }],
    ['a string', 'a@example.com'],
    ['null', null],
  ])('refuses a file holding %s instead of an array', (_what, value) => {
    expect(usersFileError(JSON.stringify(value)).message).toMatch(/must hold a JSON array/);
  });

  const NOT_EMAIL = 'entry 0: email must be an email address';
  const NOT_HASH = 'entry 0: password_hash must be a bcrypt hash';
  const email = 'a@example.com';
  it.each([
    ['a missing email', { password_hash: HASH_A }, NOT_EMAIL],
    ['an email that is not a string', { email: 42, password_hash: HASH_A }, NOT_EMAIL],
    ['a malformed email', { email: 'root-at-example', password_hash: HASH_A }, NOT_EMAIL],
    ['a missing hash', { email }, NOT_HASH],
    ['a plain password as hash', { email, password_hash: 'hunter2hunter2' }, NOT_HASH],
    ['a truncated hash', { email, password_hash: HASH_A.slice(0, -1) }, NOT_HASH],
    ['a hash of another scheme', { email, password_hash: HASH_A.replace('$2b$', '$2x$') }, NOT_HASH],
    ['a hash that is not a string', { email, password_hash: 12 }, NOT_HASH],
    ['an unknown role', { email, password_hash: HASH_A, role: 'root' }, 'entry 0: role must be "user" or "admin"'],
    ['an unknown field', { email, password_hash: HASH_A, password: 'x' }, 'entry 0: password unknown field'],
  ])('refuses an entry with %s, naming the entry and the field', (_what, entry, problem) => {
    expect(problemsOf([entry])).toEqual([expect.stringContaining(problem)]);
  });

  it.each([
    ['a string', 'a@example.com'],
    ['null', null],
    ['an array', [HASH_A]],
  ])('refuses an entry that is %s, naming the entry', (_what, entry) => {
    const problems = problemsOf([{ email: 'ok@example.com', password_hash: HASH_A }, entry]);
    expect(problems).toEqual([expect.stringMatching(/^entry 1: /)]);
    expect(problems.join('\n')).not.toContain(HASH_A);
  });

  it('refuses an email listed twice, after normalisation', () => {
    expect(
      problemsOf([
        { email: 'twice@example.com', password_hash: HASH_A },
        { email: 'other@example.com', password_hash: HASH_A },
        { email: ' TWICE@example.com', password_hash: HASH_B, role: 'admin' },
      ]),
    ).toEqual(['entry 2: email appears twice']);
  });

  it('refuses a hash whose cost is not BCRYPT_COST, since its logins would answer at another speed', () => {
    const cheaper = '$2b$04$Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKkLlZzXxCcVvBbNnMm.';
    const dearer = '$2b$12$Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKkLlZzXxCcVvBbNnMm.';
    expect(
      problemsOf([
        { email: 'cheap@example.com', password_hash: cheaper },
        { email: 'fine@example.com', password_hash: HASH_A },
        { email: 'dear@example.com', password_hash: dearer },
      ]),
    ).toEqual([
      'entry 0: password_hash has cost 4, not BCRYPT_COST 10 (make it with npm run hash-password)',
      'entry 2: password_hash has cost 12, not BCRYPT_COST 10 (make it with npm run hash-password)',
    ]);
  });

  it('lists every problem of every entry at once', () => {
    const problems = problemsOf([
      { email: 'bad', password_hash: 'nope', role: 'root', extra: true },
      { email: 'fine@example.com', password_hash: HASH_A },
      { email: 'FINE@example.com', password_hash: HASH_B },
    ]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^entry 0: email /),
        expect.stringMatching(/^entry 0: password_hash /),
        expect.stringMatching(/^entry 0: role /),
        expect.stringMatching(/^entry 0: extra unknown field/),
        'entry 2: email appears twice',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('never puts a hash, good or bad, in its message', () => {
    const nearlyHash = `${HASH_A.slice(0, -1)}!`;
    const error = usersFileError(
      JSON.stringify([
        { email: 'a@example.com', password_hash: nearlyHash },
        { email: 'b@example.com', password_hash: HASH_B, role: HASH_Y },
        { email: HASH_A, password_hash: HASH_B },
      ]),
    );
    for (const secret of [nearlyHash, HASH_A, HASH_B, HASH_Y, HASH_A.slice(7), HASH_B.slice(7), HASH_Y.slice(7)]) {
      expect(error.message).not.toContain(secret);
    }
    expect(error.message).toMatch(/entry 0: password_hash/);
    expect(error.message).toMatch(/entry 1: role/);
    expect(error.message).toMatch(/entry 2: email/);
  });
});
