// POST /register: the User it answers, duplicate and internationalised emails, the password rules, and closed registration.
import bcrypt from 'bcrypt';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { expectError, login, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function registerRequest(app: AuthApp, email: string, password: string) {
  return request(app).post('/register').send({ email, password });
}

/** The login a client would try next; 401 invalid_credentials proves no account exists. */
async function expectNoAccount(app: AuthApp, email: string) {
  const res = await request(app).post('/login').send({ email, password: PASSWORD });
  expectError(res, 401, 'invalid_credentials');
}

describe('POST /register', () => {
  it('answers 201 with {"user": User}: id, normalised email, role "user", ISO 8601 created_at', async () => {
    const { app, clock } = buildTestApp();
    const email = uniqueEmail('Mixed.Case');
    const res = await registerRequest(app, `  ${email.toUpperCase()}\t`, PASSWORD);

    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      user: { id: expect.any(String), email: email.toLowerCase(), role: 'user', created_at: expect.any(String), email_verified: false, mfa_enabled: false },
    });
    expect(res.body.user.id.length).toBeGreaterThan(0);
    expect(res.body.user.created_at).toMatch(ISO_8601);
    expect(res.body.user.created_at).toBe(new Date(clock.now()).toISOString());
  });

  it('never puts the password or its hash in the body', async () => {
    const { app } = buildTestApp();
    const res = await registerRequest(app, uniqueEmail(), PASSWORD);

    expect(res.status).toBe(201);
    expect(res.text).not.toContain(PASSWORD);
    expect(res.text).not.toMatch(/\$2[aby]\$/);
    expect(res.text).not.toMatch(/hash|password/i);
  });

  it('lets the new user log in with the normalised email', async () => {
    const { app } = buildTestApp();
    const email = uniqueEmail();
    const created = await registerRequest(app, ` ${email.toUpperCase()} `, PASSWORD);

    const tokens = await login(app, email);
    expect(tokens.user).toEqual(created.body.user);
  });

  it.each([
    ['the same email', (email: string) => email],
    ['the email in another case', (email: string) => email.toUpperCase()],
    ['the email with surrounding whitespace', (email: string) => `  ${email} `],
  ])('answers 409 email_taken for %s, and keeps the first account as it was', async (_name, variant) => {
    const { app } = buildTestApp();
    const email = uniqueEmail();
    expect((await registerRequest(app, email, PASSWORD)).status).toBe(201);

    const res = await registerRequest(app, variant(email), 'another password entirely');
    expectError(res, 409, 'email_taken');
    expect(res.headers['cache-control']).toBe('no-store');

    await login(app, email, PASSWORD);
    const withSecond = await request(app).post('/login').send({ email, password: 'another password entirely' });
    expectError(withSecond, 401, 'invalid_credentials');
  });

  describe('password length: 8 to 128 characters, any Unicode, never cut at bcrypt\'s 72 bytes', () => {
    it.each([
      ['8 ASCII characters', 'Zq8#vLm2'],
      ['64 ASCII characters', 'Lq7-'.repeat(16)],
      ['25 CJK characters (75 bytes in UTF-8)', '森林里有一只会唱歌的小狐狸它每天早上都在河边等朋友来听'.slice(0, 25)],
      ['64 CJK characters (192 bytes)', '春'.repeat(64)],
      ['128 characters', 'x'.repeat(127) + '!'],
      ['128 emoji (512 bytes, 256 UTF-16 units)', '🔑'.repeat(128)],
      ['8 emoji (16 UTF-16 units)', '🦊🐺🦝🐻🐼🐨🐯🦁'],
      ['4 letters and 4 two-byte characters', 'ñandúés'.padEnd(8, 'ü')],
    ])('accepts %s, and that password logs in', async (_name, password) => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      const res = await registerRequest(app, email, password);
      expect(res.status).toBe(201);
      await login(app, email, password);
    });

    it.each([
      ['7 ASCII characters', 'abcdefg', 'must be at least 8 characters'],
      ['4 two-byte characters (8 bytes, 4 characters)', 'éèêë', 'must be at least 8 characters'],
      ['7 emoji (14 UTF-16 units)', '🦊🐺🦝🐻🐼🐨🐯', 'must be at least 8 characters'],
      ['129 characters', 'x'.repeat(128) + '!', 'must be at most 128 characters'],
      ['129 CJK characters', '春'.repeat(129), 'must be at most 128 characters'],
      ['a NUL character', 'abcd\u0000efgh', 'must not contain a NUL character'],
    ])('refuses %s with 400 naming the password, and creates nothing', async (_name, password, message) => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      const res = await registerRequest(app, email, password);

      const body = expectError(res, 400, 'invalid_request');
      expect(body).toEqual({ error: 'invalid_request', error_description: 'The request body is invalid.', details: [{ path: 'password', message }] });
      expect(res.text).not.toContain(password);

      await expectNoAccount(app, email);
      // The email is still free: nothing was half-created.
      expect((await registerRequest(app, email, PASSWORD)).status).toBe(201);
    });

    it('tells apart passwords that share their first 72 bytes: past 72 bytes nothing is cut', async () => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      const head = 'é'.repeat(36); // 72 bytes: all that bcrypt itself would read
      const password = `${head}-and-the-rest-counts`;
      expect((await registerRequest(app, email, password)).status).toBe(201);

      await login(app, email, password);
      for (const other of [head, `${head}-and-the-rest-differs`, `${head}-and-the-rest-count`]) {
        const res = await request(app).post('/login').send({ email, password: other });
        expectError(res, 401, 'invalid_credentials');
      }
    });

    it('hashes a password of up to 72 bytes with bcrypt as before, so hashes made before pre-hashing still log in', async () => {
      const { app, stores, config } = buildTestApp();
      // A user whose hash was made the old way (bcrypt of the password itself), as an older server or USERS_FILE left it.
      const email = uniqueEmail('older');
      const password = 'ü'.repeat(30) + 'old-hash'; // 68 bytes
      await app.services.accounts.provision({ email, passwordHash: await bcrypt.hash(password, config.bcryptCost), role: 'user' });
      await login(app, email, password);

      // And a hash made now of a password that short is that same bcrypt: an older server would accept it.
      const fresh = await register(app, uniqueEmail(), 'a-72-byte-or-shorter-password');
      const stored = await stores.users.findByEmail(fresh.email);
      await expect(bcrypt.compare('a-72-byte-or-shorter-password', stored!.passwordHash)).resolves.toBe(true);
    });
  });

  describe('common passwords', () => {
    it.each([
      ['"password1"', 'password1'],
      ['"iloveyou" in capitals', 'ILOVEYOU'],
      ['"Qwertyuiop" in mixed case', 'Qwertyuiop'],
      ['"trustno1"', 'trustno1'],
      ['"12345678"', '12345678'],
      ['"sunshine"', 'sunshine'],
    ])('refuses %s with 400 invalid_request saying it is too common, and creates nothing', async (_name, password) => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      const res = await registerRequest(app, email, password);

      expectError(res, 400, 'invalid_request');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The password is too easy to guess; choose another.',
        details: [{ path: 'password', message: 'is one of the most common passwords; choose one that is harder to guess' }],
      });
      expect(res.text).not.toContain(password);
      await expectNoAccount(app, email);
    });

    it('keeps the general description when the email is wrong too, and lists both problems', async () => {
      const { app } = buildTestApp();
      const res = await registerRequest(app, 'not-an-address', 'password1');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: 'The request body is invalid.',
        details: [
          { path: 'email', message: 'must be a valid email address' },
          { path: 'password', message: 'is one of the most common passwords; choose one that is harder to guess' },
        ],
      });
    });

    it('refuses at least the 10,000 most common passwords that are long enough to be allowed at all', async () => {
      const { app } = buildTestApp();
      const { dictionary } = await import('@zxcvbn-ts/language-common');
      const ranked = dictionary['passwords-common'];
      expect(ranked.length).toBeGreaterThanOrEqual(10_000);
      // A sample through HTTP from the whole top 10,000 (each is one bcrypt-free 400, so the sample can be wide).
      const long = ranked.slice(0, 10_000).filter((password) => [...password].length >= 8);
      const sample = long.filter((_password, i) => i % 100 === 0).concat(long.at(-1)!);
      for (const password of sample) {
        const res = await registerRequest(app, uniqueEmail(), password);
        expect({ password, status: res.status, detail: res.body.details?.[0]?.message }).toEqual({
          password,
          status: 400,
          detail: expect.stringMatching(/most common passwords/),
        });
      }
    });

    it('still lets an account made with such a password before log in: the list applies to new passwords only', async () => {
      const { app, config } = buildTestApp();
      const email = uniqueEmail();
      await app.services.accounts.provision({ email, passwordHash: await bcrypt.hash('password1', config.bcryptCost), role: 'user' });
      await login(app, email, 'password1');
    });
  });

  describe('internationalised email addresses', () => {
    it.each([
      // The domain is kept in its ASCII (A-label) form: addresses stored before were ASCII.
      ['a CJK address', '用户@例子.广告', '用户@xn--fsqu00a.xn--4rr70v'],
      ['an accented local part and domain', 'josé@exämple.com', 'josé@xn--exmple-cua.com'],
      ['a Greek address', 'ΔΟΚΙΜΉ@ΠΑΡΆΔΕΙΓΜΑ.ΔΟΚΙΜΉ', 'δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp'],
      ['a domain written in its ASCII (punycode) form', 'josé@xn--exmple-cua.com', 'josé@xn--exmple-cua.com'],
      ['a decomposed é (NFD) with spaces around it', '  jose\u0301@EXA\u0308MPLE.com ', 'josé@xn--exmple-cua.com'],
    ])('accepts %s, answers it in normal form, and logs in with it', async (_name, input, normal) => {
      const { app } = buildTestApp();
      const res = await registerRequest(app, input, PASSWORD);
      expect(res.status).toBe(201);
      expect(res.body.user.email).toBe(normal);
      expect(res.body.user.email).toBe(normal.normalize('NFC'));
      expect((await login(app, input)).user.email).toBe(normal);
      expect((await login(app, normal)).user.email).toBe(normal);
    });

    it.each([
      ['in capitals', (email: string) => email.toUpperCase()],
      ['with its domain in ASCII form', () => 'josé@xn--exmple-cua.com'],
      ['decomposed (NFD)', (email: string) => email.normalize('NFD')],
      ['with a full-width domain', () => 'josé@ｅｘäｍｐｌｅ.ｃｏｍ'],
    ])('counts one address written %s as the same account: 409 email_taken', async (_name, variant) => {
      const { app } = buildTestApp();
      const email = 'josé@exämple.com';
      expect((await registerRequest(app, email, PASSWORD)).status).toBe(201);
      expectError(await registerRequest(app, variant(email), PASSWORD), 409, 'email_taken');
      expect((await login(app, variant(email))).user.email).toBe('josé@xn--exmple-cua.com');
    });

    it.each([
      ['no domain', 'josé@'],
      ['no local part', '@exämple.com'],
      ['a one-label domain', 'josé@localhost'],
      ['an IP address', 'josé@[127.0.0.1]'],
      ['a space', 'jo sé@exämple.com'],
      ['a percent-encoded domain', 'ann@ex%61mple.com'],
      ['two dots in a row', 'jo..sé@exämple.com'],
      ['an invisible joiner', 'jo\u200dsé@exämple.com'],
      ['a combining grapheme joiner (shows as admin)', 'adm\u034fin@example.com'],
      ['a variation selector (shows as admin)', 'admin\ufe0f@example.com'],
      ['the Hangul filler (shows as admin)', 'adm\u3164in@example.com'],
      ['a Cyrillic а among Latin letters (shows as admin)', '\u0430dmin@example.com'],
      ['a Greek ο among Latin letters (shows as root)', 'r\u03bfot@example.com'],
      ['an invalid punycode label', 'ann@xn--zz.com'],
      ['a local part over 64 bytes', `${'é'.repeat(33)}@exämple.com`],
    ])('refuses an address with %s: 400 naming the email', async (_name, email) => {
      const { app } = buildTestApp();
      const res = await registerRequest(app, email, PASSWORD);
      const body = expectError(res, 400, 'invalid_request');
      expect(body.details).toEqual([{ path: 'email', message: 'must be a valid email address' }]);
    });
  });

  describe('when ALLOW_REGISTRATION is false', () => {
    it('answers 404 not_found and creates no account', async () => {
      const { app } = buildTestApp({ env: { ALLOW_REGISTRATION: 'false' } });
      const email = uniqueEmail();
      const res = await registerRequest(app, email, PASSWORD);

      expectError(res, 404, 'not_found');
      expect(res.headers['cache-control']).toBe('no-store');
      await expectNoAccount(app, email);
    });

    it('still lets provisioned users log in', async () => {
      const { app } = buildTestApp({ env: { ALLOW_REGISTRATION: 'false' } });
      const email = uniqueEmail();
      await app.services.accounts.register(email, PASSWORD);

      const tokens = await login(app, email);
      expect(tokens.user.email).toBe(email);
    });
  });
});
