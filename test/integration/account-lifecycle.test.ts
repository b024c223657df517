// The account lifecycle end to end, with real mail: reset, verification, password change and deletion, on every storage backend.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, expectError, login, PASSWORD, register, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { describeEachBackend } from '../helpers/store-backends';

const APP_URL = 'https://app.example.test';
const NEW_PASSWORD = 'a brand new passphrase 42';

/** The `token` parameter of a link in a mail. */
function tokenOf(link: string): string {
  const url = new URL(link);
  return url.searchParams.get('token') ?? '';
}

describeEachBackend(
  'account lifecycle with real mail',
  (backend) => {
    let smtp: SmtpTestServer;
    let clock: FakeClock;
    let app: AuthApp;

    beforeAll(async () => {
      smtp = await startSmtpServer();
    });
    afterAll(async () => {
      await smtp.close();
    });

    async function buildApp(env: Record<string, string> = {}): Promise<AuthApp> {
      clock = new FakeClock();
      const stores = await backend.open(clock);
      const built = buildTestApp({
        clock,
        stores,
        env: { SMTP_URL: smtp.url, APP_URL, MAIL_FROM: 'Auth <auth@example.test>', ...env },
      });
      return built.app;
    }

    beforeEach(async () => {
      app = await buildApp();
    });
    afterEach(async () => {
      await app.services.background.idle();
      await app.services.mailer.close();
    });

    /** Registers and logs in a user whose address is verified through the link of the real mail. */
    async function verifiedUser() {
      const email = uniqueEmail('owner');
      const verifyMail = smtp.nextMail(email, { subject: /confirm/i });
      await register(app, email);
      const token = tokenOf(smtp.linkIn(await verifyMail));
      expect((await request(app).post('/email/verify').send({ token })).status).toBe(200);
      return { email, tokens: await login(app, email) };
    }

    /** Asks for a reset and returns the token of the link in the mail that arrives. */
    async function resetTokenFor(email: string): Promise<string> {
      // The registration's verification mail may still be on its way: wait for the reset mail.
      const mail = smtp.nextMail(email, { subject: /reset your/i });
      const res = await request(app).post('/password/forgot').send({ email });
      expect(res.status).toBe(202);
      return tokenOf(smtp.linkIn(await mail));
    }

    it('mails a reset link that sets a new password once, ends every session and lets the user log in with the new password', async () => {
      const { email, tokens } = await registerAndLogin(app);
      const resetMail = smtp.nextMail(email, { subject: /reset/i });
      const forgot = await request(app).post('/password/forgot').send({ email });
      expect(forgot.status).toBe(202);
      expect(forgot.body).toEqual({ status: 'accepted' });

      const mail = await resetMail;
      expect(mail.from).toContain('auth@example.test');
      const link = smtp.linkIn(mail);
      expect(link.startsWith(`${APP_URL}/reset-password?token=`)).toBe(true);
      expect(mail.html).toContain(link.replace(/&/g, '&amp;'));
      const token = tokenOf(link);
      expect(token).toMatch(/^[A-Za-z0-9_-]{22,}$/);

      const notice = smtp.nextMail(email, { subject: /password/i, not: /reset your/i });
      const reset = await request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD });
      expect(reset.status).toBe(204);
      expect(reset.text).toBe('');
      expect((await notice).text).toMatch(/reset/i);

      expectError(await request(app).get('/profile').set(...bearer(tokens.access_token)), 401, 'invalid_token');
      expectError(await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 401, 'invalid_credentials');
      const fresh = await login(app, email, NEW_PASSWORD);
      // Following the link proved the address.
      expect(fresh.user).toMatchObject({ email, email_verified: true });

      const again = expectError(await request(app).post('/password/reset').send({ token, new_password: 'yet another passphrase' }), 400, 'invalid_grant');
      expect(again.error_description).toMatch(/reset link/i);
      await login(app, email, NEW_PASSWORD);
    });

    it('answers /password/forgot for an unknown address exactly as for a known one, and mails nobody', async () => {
      const { email } = await register(app);
      const unknown = uniqueEmail('nobody');
      const known = await request(app).post('/password/forgot').send({ email });
      const other = await request(app).post('/password/forgot').send({ email: unknown });
      expect(other.status).toBe(known.status);
      expect(other.body).toEqual(known.body);
      const headerNames = (res: request.Response) => Object.keys(res.headers).filter((name) => name !== 'date').sort();
      expect(headerNames(other)).toEqual(headerNames(known));
      await app.services.background.idle();
      await app.services.mailer.idle();
      expect(smtp.messages.filter((m) => m.to.includes(unknown))).toEqual([]);
      expect(smtp.messages.filter((m) => m.to.includes(email) && /reset/i.test(m.subject))).toHaveLength(1);
    });

    it('sends at most one reset mail per address per MAIL_COOLDOWN, and another once it has passed', async () => {
      const { email } = await register(app);
      const countResets = () => smtp.messages.filter((m) => m.to.includes(email) && /reset/i.test(m.subject)).length;
      for (let i = 0; i < 3; i += 1) expect((await request(app).post('/password/forgot').send({ email })).status).toBe(202);
      await app.services.background.idle();
      await app.services.mailer.idle();
      expect(countResets()).toBe(1);
      clock.advanceSeconds(61);
      expect((await request(app).post('/password/forgot').send({ email })).status).toBe(202);
      await app.services.background.idle();
      await app.services.mailer.idle();
      expect(countResets()).toBe(2);
    });

    it('refuses a reset link after PASSWORD_RESET_TTL', async () => {
      const { email } = await register(app);
      const token = await resetTokenFor(email);
      clock.advanceSeconds(3600);
      expectError(await request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD }), 400, 'invalid_grant');
      await login(app, email, PASSWORD);
    });

    it('mails a verification link at registration that marks the address verified once', async () => {
      const email = uniqueEmail('verify');
      const verifyMail = smtp.nextMail(email);
      await register(app, email);
      const mail = await verifyMail;
      const link = smtp.linkIn(mail);
      expect(link.startsWith(`${APP_URL}/verify-email?token=`)).toBe(true);
      const token = tokenOf(link);

      // A verification token is not a reset token, and trying it there does not use it up.
      expectError(await request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD }), 400, 'invalid_grant');

      const verified = await request(app).post('/email/verify').send({ token });
      expect(verified.status).toBe(200);
      expect(verified.body.user).toMatchObject({ email, email_verified: true });
      const tokens = await login(app, email);
      const profile = await request(app).get('/profile').set(...bearer(tokens.access_token));
      expect(profile.body.user.email_verified).toBe(true);

      expectError(await request(app).post('/email/verify').send({ token }), 400, 'invalid_grant');
    });

    it('resends a verification link on request, and none once the address is verified', async () => {
      const email = uniqueEmail('resend');
      const first = smtp.nextMail(email);
      await register(app, email);
      await first;
      const tokens = await login(app, email);
      clock.advanceSeconds(61);
      const second = smtp.nextMail(email);
      const resend = await request(app).post('/email/verify/resend').set(...bearer(tokens.access_token));
      expect(resend.status).toBe(202);
      expect(resend.body).toEqual({ status: 'accepted' });
      const token = tokenOf(smtp.linkIn(await second));
      expect((await request(app).post('/email/verify').send({ token })).status).toBe(200);

      clock.advanceSeconds(61);
      const before = smtp.messages.length;
      expect((await request(app).post('/email/verify/resend').set(...bearer(tokens.access_token))).status).toBe(202);
      await app.services.mailer.idle();
      expect(smtp.messages.length).toBe(before);
    });

    it('changes the password: a new session for the caller, every other session ended, reset links void, the owner told', async () => {
      const { email, tokens } = await verifiedUser();
      const other = await login(app, email);
      const resetToken = await resetTokenFor(email);

      expectError(
        await request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: 'not my password', new_password: NEW_PASSWORD }),
        401,
        'invalid_credentials',
      );

      const notice = smtp.nextMail(email, { subject: /password/i, not: /reset your/i });
      const changed = await request(app)
        .post('/password/change')
        .set(...bearer(tokens.access_token))
        .send({ current_password: PASSWORD, new_password: NEW_PASSWORD });
      expect(changed.status).toBe(200);
      expect(changed.headers['cache-control']).toBe('no-store');
      expect(changed.body).toMatchObject({ token_type: 'Bearer', user: { email } });
      expect((await notice).text).toMatch(/changed/i);

      for (const old of [tokens, other]) {
        expectError(await request(app).get('/profile').set(...bearer(old.access_token)), 401, 'invalid_token');
        expectError(await request(app).post('/refresh').send({ refresh_token: old.refresh_token }), 401, 'invalid_grant');
      }
      expect((await request(app).get('/profile').set(...bearer(changed.body.access_token))).status).toBe(200);
      expect((await request(app).post('/refresh').send({ refresh_token: changed.body.refresh_token })).status).toBe(200);
      expectError(await request(app).post('/password/reset').send({ token: resetToken, new_password: 'yet another passphrase' }), 400, 'invalid_grant');
      await login(app, email, NEW_PASSWORD);
    });

    it('deletes the account with its password: its tokens fail at once, its login is gone, its email is free', async () => {
      const { email, tokens } = await registerAndLogin(app);
      const other = await login(app, email);
      expectError(await request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: 'wrong password here' }), 401, 'invalid_credentials');

      const deleted = await request(app).delete('/profile').set(...bearer(tokens.access_token)).send({ password: PASSWORD });
      expect(deleted.status).toBe(204);
      expectError(await request(app).get('/profile').set(...bearer(tokens.access_token)), 401, 'invalid_token');
      expectError(await request(app).get('/sessions').set(...bearer(other.access_token)), 401, 'invalid_token');
      expectError(await request(app).post('/refresh').send({ refresh_token: other.refresh_token }), 401, 'invalid_grant');
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 401, 'invalid_credentials');
      const again = await request(app).post('/register').send({ email, password: PASSWORD });
      expect(again.status).toBe(201);
      expect(again.body.user.id).not.toBe(tokens.user.id);
    });

    it('mails the owner when a replayed refresh token ends a session, naming the app by its product tokens only', async () => {
      const { email } = await verifiedUser();
      const tokens = await login(app, email, PASSWORD, 'Unlock your account at https://phish.example/now Firefox/133.0');
      expect((await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token })).status).toBe(200);
      clock.advanceSeconds(11);
      const notice = smtp.nextMail(email, { subject: /sign|session/i });
      expectError(await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
      const mail = await notice;
      expect(mail.text).not.toContain(tokens.refresh_token);
      expect(mail.text).toMatch(/used twice/i);
      expect(mail.text).toContain('Firefox/133.0');
      expect(`${mail.text}${mail.html}`).not.toMatch(/phish|unlock/i);
    });

    it('sends no security notice to an address nobody has verified (anyone may register any address)', async () => {
      const { email, tokens } = await registerAndLogin(app);
      const changed = await request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: PASSWORD, new_password: NEW_PASSWORD });
      expect(changed.status).toBe(200);
      await app.services.background.idle();
      await app.services.mailer.idle();
      expect(smtp.messages.filter((m) => m.envelopeTo.includes(email) && /password was/i.test(m.subject))).toEqual([]);
    });

    it('leaves no session to a login that was checking the old password while a reset landed, whatever the interleaving', async () => {
      // Half of these logins fail (they lost the race): keep the failed-login limit out of the way.
      await app.services.mailer.close();
      app = await buildApp({ LOGIN_RATE_LIMIT_MAX: '100' });
      const { email } = await register(app);
      for (const offsetMs of [0, 5, 15, 30, 50, 80]) {
        const token = await resetTokenFor(email);
        clock.advanceSeconds(61);
        const current = offsetMs === 0 ? PASSWORD : `${NEW_PASSWORD} ${offsetMs - 1}`;
        // The reset starts hashing; the login reads the old hash and checks it while the reset lands.
        const reset = request(app).post('/password/reset').send({ token, new_password: `${NEW_PASSWORD} ${offsetMs}` }).then((res) => res);
        await new Promise((resolve) => setTimeout(resolve, offsetMs));
        const loggedIn = await request(app).post('/login').send({ email, password: current });
        expect((await reset).status).toBe(204);
        if (loggedIn.status === 200) {
          expectError(await request(app).post('/refresh').send({ refresh_token: loggedIn.body.refresh_token }), 401, 'invalid_grant');
        } else {
          expectError(loggedIn, 401, 'invalid_credentials');
        }
      }
    });

    it('refuses a password change checked against a password that a reset replaced meanwhile', async () => {
      const { email, tokens } = await registerAndLogin(app);
      const token = await resetTokenFor(email);
      // The change checks the old password first (a supertest request starts when then() is called).
      const racing = request(app).post('/password/change').set(...bearer(tokens.access_token)).send({ current_password: PASSWORD, new_password: 'the attackers passphrase' }).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await request(app).post('/password/reset').send({ token, new_password: NEW_PASSWORD })).status).toBe(204);
      const change = await racing;
      // Either the reset ended the session first (401 invalid_token) or the change lost the race (401 invalid_credentials): never a 200.
      expect(change.status).toBe(401);
      await login(app, email, NEW_PASSWORD);
      expectError(await request(app).post('/login').send({ email, password: 'the attackers passphrase' }), 401, 'invalid_credentials');
    });

    it('with REQUIRE_EMAIL_VERIFICATION, refuses the right password of an unverified account until it is verified', async () => {
      await app.services.mailer.close();
      app = await buildApp({ REQUIRE_EMAIL_VERIFICATION: 'true' });
      const email = uniqueEmail('unverified');
      const verifyMail = smtp.nextMail(email);
      await register(app, email);
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 403, 'email_not_verified');
      expectError(await request(app).post('/login').send({ email, password: 'wrong password here' }), 401, 'invalid_credentials');
      const token = tokenOf(smtp.linkIn(await verifyMail));
      expect((await request(app).post('/email/verify').send({ token })).status).toBe(200);
      await login(app, email);
    });
  },
  { pglite: 'without-postgres' },
);
