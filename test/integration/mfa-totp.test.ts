// TOTP second factor end to end on every backend: enrolment, two-step login, replays, recovery codes, the mfa_token's limits, removal, amr and step-up.
import express from 'express';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { totpCode } from '../../src/auth/totp';
import { createErrorHandler } from '../../src/http/error-handler';
import { createVerifyToken, requireAmr } from '../../src/http/verify-token';
import { createLogger } from '../../src/lib/logger';
import type { Stores } from '../../src/stores/types';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, decodeJwt, expectError, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { describeEachBackend } from '../helpers/store-backends';

const KEY = 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=';

describeEachBackend(
  'TOTP second factor',
  (backend) => {
    let clock: FakeClock;
    let stores: Stores;
    let app: AuthApp;

    beforeEach(async () => {
      clock = new FakeClock();
      stores = await backend.open(clock);
      app = buildTestApp({ clock, stores, env: { MFA_ENCRYPTION_KEY: KEY, LOGIN_RATE_LIMIT_MAX: '20' } }).app;
    });

    /** The code an authenticator shows now; the clock moves on a step first, so no step is used twice by accident. */
    function nextCode(secret: string): string {
      clock.advanceSeconds(30);
      return totpCode(secret, clock.now());
    }

    async function signedIn(email = uniqueEmail('mfa')) {
      await register(app, email);
      const res = await request(app).post('/login').send({ email, password: PASSWORD });
      expect(res.status).toBe(200);
      return { email, access: res.body.access_token as string, body: res.body };
    }

    /** A user with TOTP on: their secret and recovery codes. */
    async function enrolled() {
      const { email, access } = await signedIn();
      const start = await request(app).post('/mfa/totp').set(...bearer(access));
      expect(start.status).toBe(200);
      const secret = start.body.secret as string;
      const confirm = await request(app).post('/mfa/totp/confirm').set(...bearer(access)).send({ code: totpCode(secret, clock.now()) });
      expect(confirm.status).toBe(200);
      return { email, access, secret, recoveryCodes: confirm.body.recovery_codes as string[] };
    }

    async function mfaToken(email: string): Promise<string> {
      const res = await request(app).post('/login').send({ email, password: PASSWORD });
      expect(res.status).toBe(403);
      return res.body.mfa_token as string;
    }

    it('enrols: a pending secret and otpauth URI, then ten recovery codes once a code confirms it', async () => {
      const { email, access } = await signedIn();
      const start = await request(app).post('/mfa/totp').set(...bearer(access));
      expect(start.status).toBe(200);
      expect(start.headers['cache-control']).toBe('no-store');
      expect(Object.keys(start.body).sort()).toEqual(['otpauth_uri', 'secret']);
      expect(start.body.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(start.body.otpauth_uri).toContain(`secret=${start.body.secret}`);
      expect(decodeURIComponent(start.body.otpauth_uri)).toContain(email);

      // Pending: the password alone still signs in, and the profile says it is off.
      expect((await request(app).post('/login').send({ email, password: PASSWORD })).status).toBe(200);
      expect((await request(app).get('/profile').set(...bearer(access))).body.user.mfa_enabled).toBe(false);
      expectError(await request(app).post('/mfa/totp/confirm').set(...bearer(access)).send({ code: '000000' === totpCode(start.body.secret, clock.now()) ? '111111' : '000000' }), 401, 'invalid_mfa_code');

      const confirm = await request(app).post('/mfa/totp/confirm').set(...bearer(access)).send({ code: totpCode(start.body.secret, clock.now()) });
      expect(confirm.status).toBe(200);
      expect(confirm.body.recovery_codes).toHaveLength(10);
      expect(new Set(confirm.body.recovery_codes).size).toBe(10);
      for (const code of confirm.body.recovery_codes) expect(code).toMatch(/^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
      // Stored as hashes, the secret sealed.
      const factor = await stores.mfa.get(start.body.user?.id ?? decodeJwt(access).payload.sub as string);
      expect(factor?.confirmed).toBe(true);
      expect(factor?.secretCiphertext).not.toContain(start.body.secret);
      expect(factor?.recoveryCodeHashes).toHaveLength(10);
      for (const code of confirm.body.recovery_codes) expect(factor?.recoveryCodeHashes).not.toContain(code);

      expect((await request(app).get('/profile').set(...bearer(access))).body.user.mfa_enabled).toBe(true);
      expectError(await request(app).post('/mfa/totp').set(...bearer(access)), 409, 'mfa_already_enabled');
    });

    it('signs in in two steps: 403 mfa_required with an mfa_token and no session, then POST /login/mfa gives tokens with amr pwd+otp', async () => {
      const { email, secret } = await enrolled();
      const first = await request(app).post('/login').send({ email, password: PASSWORD });
      expect(first.status).toBe(403);
      expect(first.headers['cache-control']).toBe('no-store');
      expect(first.body).toEqual({ error: 'mfa_required', error_description: expect.any(String), mfa_token: expect.any(String), expires_in: 300 });
      const userId = decodeJwt(first.body.mfa_token).payload.sub as string;
      expect(await stores.sessions.listByUser(userId)).toHaveLength(1); // the one from before enrolment

      // A wrong password is the same answer as for any account.
      expectError(await request(app).post('/login').send({ email, password: 'not the password 1' }), 401, 'invalid_credentials');

      const second = await request(app).post('/login/mfa').send({ mfa_token: first.body.mfa_token, code: nextCode(secret) });
      expect(second.status).toBe(200);
      expect(second.body.user).toMatchObject({ email, mfa_enabled: true });
      expect(decodeJwt(second.body.access_token).payload.amr).toEqual(['pwd', 'otp']);
      expect(await stores.sessions.listByUser(userId)).toHaveLength(2);

      // amr survives the refresh.
      const refreshed = await request(app).post('/refresh').send({ refresh_token: second.body.refresh_token });
      expect(refreshed.status).toBe(200);
      expect(decodeJwt(refreshed.body.access_token).payload.amr).toEqual(['pwd', 'otp']);
      expect(refreshed.body.user.mfa_enabled).toBe(true);
    });

    it('gives password-only sign-ins amr ["pwd"], through refresh too', async () => {
      const { body } = await signedIn();
      expect(decodeJwt(body.access_token).payload.amr).toEqual(['pwd']);
      const refreshed = await request(app).post('/refresh').send({ refresh_token: body.refresh_token });
      expect(decodeJwt(refreshed.body.access_token).payload.amr).toEqual(['pwd']);
      expect(body.user.mfa_enabled).toBe(false);
    });

    it('works in cookie mode: the refresh token goes into the cookie', async () => {
      const { email, secret } = await enrolled();
      const token = await mfaToken(email);
      const res = await request(app).post('/login/mfa').set('X-Token-Mode', 'cookie').send({ mfa_token: token, code: nextCode(secret) });
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toBeUndefined();
      expect(String(res.headers['set-cookie'])).toMatch(/^__Host-refresh_token=.+; HttpOnly; Secure; SameSite=Strict/);
    });

    it('refuses a code accepted once (the confirming code too), and a code of another user', async () => {
      const { email, secret } = await enrolled();
      const other = await enrolled();
      // The code that confirmed the enrolment has had its step.
      expectError(await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: totpCode(secret, clock.now()) }), 401, 'invalid_mfa_code');

      const code = nextCode(secret);
      const token = await mfaToken(email);
      expectError(await request(app).post('/login/mfa').send({ mfa_token: token, code: totpCode(other.secret, clock.now()) === code ? '000000' : totpCode(other.secret, clock.now()) }), 401, 'invalid_mfa_code');
      expect((await request(app).post('/login/mfa').send({ mfa_token: token, code })).status).toBe(200);
      expectError(await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code }), 401, 'invalid_mfa_code');
    });

    it('takes each recovery code once, with or without its dash and in any case', async () => {
      const { email, recoveryCodes } = await enrolled();
      const [first, second] = recoveryCodes;
      expect((await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: first })).status).toBe(200);
      expectError(await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: first }), 401, 'invalid_mfa_code');
      const typed = second!.replace('-', ' ').toLowerCase();
      const res = await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: typed });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.access_token).payload.amr).toEqual(['pwd', 'otp']);
    });

    it('refuses an mfa_token used once, expired, or after 5 wrong codes (401 invalid_grant)', async () => {
      const { email, secret } = await enrolled();
      const used = await mfaToken(email);
      expect((await request(app).post('/login/mfa').send({ mfa_token: used, code: nextCode(secret) })).status).toBe(200);
      expectError(await request(app).post('/login/mfa').send({ mfa_token: used, code: nextCode(secret) }), 401, 'invalid_grant');

      const expiring = await mfaToken(email);
      clock.advanceSeconds(300);
      expectError(await request(app).post('/login/mfa').send({ mfa_token: expiring, code: totpCode(secret, clock.now()) }), 401, 'invalid_grant');

      const guessed = await mfaToken(email);
      const right = nextCode(secret);
      const wrong = right === '000000' ? '111111' : '000000';
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        expectError(await request(app).post('/login/mfa').send({ mfa_token: guessed, code: wrong }), 401, 'invalid_mfa_code');
      }
      expectError(await request(app).post('/login/mfa').send({ mfa_token: guessed, code: right }), 401, 'invalid_grant');
      // A fresh sign-in still works with that code: only the token was void.
      expect((await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: right })).status).toBe(200);
    });

    it('refuses a forged, malformed or refresh token as mfa_token, and malformed bodies', async () => {
      const { email, body } = await (async () => {
        const e = await enrolled();
        return { email: e.email, body: (await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(e.email), code: nextCode(e.secret) })).body };
      })();
      expectError(await request(app).post('/login/mfa').send({ mfa_token: body.refresh_token, code: '123456' }), 401, 'invalid_grant');
      expectError(await request(app).post('/login/mfa').send({ mfa_token: 'not-a-token', code: '123456' }), 401, 'invalid_grant');
      expectError(await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email) }), 400, 'invalid_request');
      expectError(await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: 123456 }), 400, 'invalid_request');
      expectError(await request(app).post('/mfa/totp/confirm').send({ code: '123456' }), 401, 'unauthorized');
    });

    it('counts wrong codes as failed logins of the account: the limit of /login stops them, and /login too', async () => {
      const limited = buildTestApp({ clock, stores, env: { MFA_ENCRYPTION_KEY: KEY, LOGIN_RATE_LIMIT_MAX: '3' } }).app;
      app = limited;
      const { email, secret } = await enrolled();
      const right = nextCode(secret);
      const wrong = right === '000000' ? '111111' : '000000';
      const token = await mfaToken(email);
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        expectError(await request(app).post('/login/mfa').send({ mfa_token: token, code: wrong }), 401, 'invalid_mfa_code');
      }
      expectError(await request(app).post('/login/mfa').send({ mfa_token: token, code: right }), 429, 'rate_limited');
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 429, 'rate_limited');
    });

    it('turns TOTP off with a code (TOTP or recovery), after which the password alone signs in', async () => {
      const first = await enrolled();
      expectError(await request(app).delete('/mfa/totp').set(...bearer(first.access)).send({ code: 'AAAAA-AAAAA' }), 401, 'invalid_mfa_code');
      const off = await request(app).delete('/mfa/totp').set(...bearer(first.access)).send({ code: nextCode(first.secret) });
      expect(off.status).toBe(204);
      expect((await request(app).post('/login').send({ email: first.email, password: PASSWORD })).status).toBe(200);
      expect((await request(app).get('/profile').set(...bearer(first.access))).body.user.mfa_enabled).toBe(false);
      expectError(await request(app).delete('/mfa/totp').set(...bearer(first.access)).send({ code: '123456' }), 404, 'not_found');

      const second = await enrolled();
      expect((await request(app).delete('/mfa/totp').set(...bearer(second.access)).send({ code: second.recoveryCodes[3] })).status).toBe(204);
      expect((await request(app).post('/login').send({ email: second.email, password: PASSWORD })).status).toBe(200);
    });

    it('lets requireAmr("otp") through only tokens of a sign-in with the second factor (403 insufficient_scope otherwise)', async () => {
      const guarded = express();
      guarded.get('/payout', createVerifyToken({ tokens: app.services.tokens, sessions: stores.sessions }), requireAmr('otp'), (_req, res) => {
        res.json({ ok: true });
      });
      guarded.use(createErrorHandler(createLogger('silent')));

      const { email, access, secret } = await enrolled();
      const denied = await request(guarded).get('/payout').set(...bearer(access));
      expectError(denied, 403, 'insufficient_scope');
      expect(denied.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="insufficient_scope"/);
      const { body } = await request(app).post('/login/mfa').send({ mfa_token: await mfaToken(email), code: nextCode(secret) });
      expect((await request(guarded).get('/payout').set(...bearer(body.access_token))).body).toEqual({ ok: true });
    });
  },
  { pglite: 'without-postgres' },
);

describe('TOTP without MFA_ENCRYPTION_KEY where factors would outlive the process', () => {
  it('answers enrolment with 501 not_configured', async () => {
    const { app } = buildTestApp({ env: { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/none' } });
    const email = uniqueEmail('nokey');
    await register(app, email);
    const { body } = await request(app).post('/login').send({ email, password: PASSWORD });
    expectError(await request(app).post('/mfa/totp').set(...bearer(body.access_token)), 501, 'not_configured');
  });
});
