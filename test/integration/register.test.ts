// POST /register: the User it answers, duplicate emails, password byte limits, and closed registration.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { expectError, login, PASSWORD, uniqueEmail } from '../helpers/fixtures';

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
      user: { id: expect.any(String), email: email.toLowerCase(), role: 'user', created_at: expect.any(String) },
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

  describe('password length, counted in UTF-8 bytes', () => {
    it.each([
      ['72 ASCII bytes', 'a'.repeat(72)],
      ['8 ASCII bytes', 'abcdefgh'],
      ['36 two-byte characters (72 bytes)', 'é'.repeat(36)],
      ['4 two-byte characters (8 bytes)', 'éééé'],
    ])('accepts %s, and that password logs in', async (_name, password) => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      expect((await registerRequest(app, email, password)).status).toBe(201);
      await login(app, email, password);
    });

    it.each([
      ['73 ASCII bytes', 'a'.repeat(73), /72 bytes/],
      ['37 two-byte characters (74 bytes, 37 characters)', 'é'.repeat(37), /72 bytes/],
      ['19 emoji (76 bytes, 38 UTF-16 units)', '😀'.repeat(19), /72 bytes/],
      ['7 ASCII bytes', 'abcdefg', /8 bytes/],
      ['a NUL character', 'abcd\u0000efgh', /NUL/],
    ])('refuses %s with 400 naming the password, and creates nothing', async (_name, password, message) => {
      const { app } = buildTestApp();
      const email = uniqueEmail();
      const res = await registerRequest(app, email, password);

      const body = expectError(res, 400, 'invalid_request');
      expect(body.details).toEqual([{ path: 'password', message: expect.stringMatching(message) }]);
      expect(res.text).not.toContain(password);

      await expectNoAccount(app, email);
      // The email is still free: nothing was half-created.
      expect((await registerRequest(app, email, PASSWORD)).status).toBe(201);
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
