// Attacks on the second factor (TOTP, RFC 6238): malformed, replayed and foreign codes, mfa_tokens used twice, expired, forged or presented as other tokens, guessing past the budgets, recovery codes, and enrolment races. Run per backend.
import request from 'supertest';
import { totpCode } from '../../src/auth/totp';
import { REFRESH_COOKIE } from '../../src/http/cookie-mode';
import {
  auditResponses,
  expectAccessTokenRefused,
  expectRefreshTokenRefused,
  ResponseRecorder,
  type Target,
} from '../helpers/attack';
import { targetOn } from '../helpers/backend-target';
import { bearer, decodeJwt, PASSWORD, registerAndLogin } from '../helpers/fixtures';
import { forgeJwt, jwtSegment } from '../helpers/forge';
import { describeEachBackend } from '../helpers/store-backends';
import { TEST_ENV } from '../helpers/test-config';

/** 32 random bytes in base64: a key of the form MFA_ENCRYPTION_KEY takes. */
const MFA_KEY = 'Jq3vT8yW1nR6kP0sX4mB9cL2dF7gH5zA1eU3iO8tY6w=';
/** A failed-login budget out of the way: only the limiter attacks below meet it. */
const ROOMY = { MFA_ENCRYPTION_KEY: MFA_KEY, LOGIN_RATE_LIMIT_MAX: '1000' };
const STEP_SEC = 30;

/** A user of these attacks with TOTP on: the secret the app scanned, the recovery codes shown once, and a session from before. */
interface Enrolled {
  email: string;
  userId: string;
  access: string;
  secret: string;
  recoveryCodes: string[];
}

/** Whether an answer carries tokens: in its body, or a refresh cookie. */
function issuedTokens(res: request.Response): boolean {
  const body = typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>) : {};
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return 'access_token' in body || 'refresh_token' in body || cookies.some((cookie) => cookie.startsWith(`${REFRESH_COOKIE}=`));
}

/** A refusal as one object (status, error code, whether tokens came with it), so that a failure shows all of it. */
function refusal(res: request.Response) {
  return { status: res.status, type: res.headers['content-type'], error: res.body?.error, issued: issuedTokens(res) };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const BAD_CODE = { status: 401, type: JSON_TYPE, error: 'invalid_mfa_code', issued: false };
const BAD_GRANT = { status: 401, type: JSON_TYPE, error: 'invalid_grant', issued: false };
const BAD_REQUEST = { status: 400, type: JSON_TYPE, error: 'invalid_request', issued: false };
const LIMITED = { status: 429, type: JSON_TYPE, error: 'rate_limited', issued: false };

/**
 * Codes that are neither a TOTP code (6 ASCII digits) nor a recovery code: each must be refused as
 * malformed, before any check of a code or an mfa_token, at every route taking one.
 */
const MALFORMED_CODES: [string, unknown][] = [
  ['letters', 'abcdef'],
  ['5 digits', '12345'],
  ['7 digits', '1234567'],
  ['a space inside', '123 456'],
  ['spaces around', ' 123456 '],
  ['Arabic-Indic digits', '١٢٣٤٥٦'],
  ['full-width digits', '１２３４５６'],
  ['a sign in front', '+123456'],
  ['a NUL byte', '123456\u0000'],
  ['an empty string', ''],
  ['a very long string', '1'.repeat(200)],
  ['a number', 123456],
  ['null', null],
  ['true', true],
  ['an array', ['123456']],
  ['an object', { code: '123456' }],
];

describeEachBackend(
  'second factor',
  (backend) => {
    const recorder = new ResponseRecorder();

    /** A fresh server (its own clock and stores) with one logged-in victim, every answer recorded. */
    function world(env: Record<string, string> = ROOMY): Promise<Target> {
      return targetOn(backend, recorder, env);
    }

    /** A new account, logged in, with TOTP enrolled and confirmed through the API at the app's clock. */
    async function enrolled(t: Target): Promise<Enrolled> {
      const { email, tokens } = await registerAndLogin(t.http);
      const start = await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token));
      expect(start.status).toBe(200);
      const secret = start.body.secret as string;
      const confirm = await request(t.http).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(secret, t.clock.now()) });
      expect(confirm.status).toBe(200);
      return { email, userId: tokens.user.id, access: tokens.access_token, secret, recoveryCodes: confirm.body.recovery_codes as string[] };
    }

    /** The code an authenticator shows once the clock has moved on a step (so that no earlier answer used its step). */
    function nextCode(t: Target, secret: string): string {
      t.clock.advanceSeconds(STEP_SEC);
      return totpCode(secret, t.clock.now());
    }

    /** A 6-digit code that is none of the codes the secret has within the drift allowed now. */
    function wrongCode(t: Target, secret: string): string {
      const now = t.clock.now();
      const near = new Set([-1, 0, 1].map((steps) => totpCode(secret, now + steps * STEP_SEC * 1000)));
      return ['000000', '111111', '222222', '333333'].find((code) => !near.has(code))!;
    }

    /** The right password at /login: 403 mfa_required, no session; returns the mfa_token. */
    async function mfaToken(t: Target, email: string): Promise<string> {
      const res = await request(t.http).post('/login').send({ email, password: PASSWORD });
      expect({ status: res.status, error: res.body.error, issued: issuedTokens(res) }).toEqual({ status: 403, error: 'mfa_required', issued: false });
      return res.body.mfa_token as string;
    }

    function loginMfa(t: Target, token: unknown, code: unknown) {
      return request(t.http).post('/login/mfa').send({ mfa_token: token, code });
    }

    function removeFactor(t: Target, access: string, code: unknown) {
      return request(t.http).delete('/mfa/totp').set(...bearer(access)).send({ code });
    }

    async function sessionCount(t: Target, userId: string): Promise<number> {
      return (await t.stores.sessions.listByUser(userId)).length;
    }

    /** Whether the account still asks for its second factor (the factor was not removed). */
    async function stillGuarded(t: Target, email: string): Promise<boolean> {
      const res = await request(t.http).post('/login').send({ email, password: PASSWORD });
      return res.status === 403 && res.body.error === 'mfa_required';
    }

    describe('malformed codes', () => {
      let t: Target;
      let user: Enrolled;
      let pending: { access: string };
      beforeAll(async () => {
        t = await world();
        user = await enrolled(t);
        const { tokens } = await registerAndLogin(t.http);
        expect((await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token))).status).toBe(200);
        pending = { access: tokens.access_token };
      });

      it.each(MALFORMED_CODES)('refuses %s as a code with 400 invalid_request at POST /login/mfa, without using up the mfa_token', async (_what, code) => {
        const token = await mfaToken(t, user.email);
        expect(refusal(await loginMfa(t, token, code))).toEqual(BAD_REQUEST);
        // Nothing was counted against the token: the right code still signs in with it.
        const res = await loginMfa(t, token, nextCode(t, user.secret));
        expect({ status: res.status, issued: issuedTokens(res) }).toEqual({ status: 200, issued: true });
      });

      it.each(MALFORMED_CODES)('refuses %s as a code with 400 invalid_request at POST /mfa/totp/confirm, the enrolment still pending', async (_what, code) => {
        const sessions = await sessionCount(t, decodeJwt(pending.access).payload.sub as string);
        expect(refusal(await request(t.http).post('/mfa/totp/confirm').set(...bearer(pending.access)).send({ code }))).toEqual(BAD_REQUEST);
        expect(await sessionCount(t, decodeJwt(pending.access).payload.sub as string)).toBe(sessions);
        const profile = await request(t.http).get('/profile').set(...bearer(pending.access));
        expect(profile.body.user.mfa_enabled).toBe(false);
      });

      it.each(MALFORMED_CODES)('refuses %s as a code with 400 invalid_request at DELETE /mfa/totp, the factor still on', async (_what, code) => {
        expect(refusal(await removeFactor(t, user.access, code))).toEqual(BAD_REQUEST);
        expect(await stillGuarded(t, user.email)).toBe(true);
      });

      it('refuses a body without a code, or with fields of its own, at each route taking a code', async () => {
        const token = await mfaToken(t, user.email);
        const right = nextCode(t, user.secret);
        for (const body of [{}, { mfa_token: token }, { code: right }, { mfa_token: token, code: right, extra: 1 }, { mfa_token: [token], code: right }]) {
          expect({ body, ...refusal(await request(t.http).post('/login/mfa').send(body)) }).toEqual({ body, ...BAD_REQUEST });
        }
        for (const body of [{}, { code: right, extra: 1 }]) {
          expect({ body, ...refusal(await request(t.http).post('/mfa/totp/confirm').set(...bearer(pending.access)).send(body)) }).toEqual({ body, ...BAD_REQUEST });
          expect({ body, ...refusal(await request(t.http).delete('/mfa/totp').set(...bearer(user.access)).send(body)) }).toEqual({ body, ...BAD_REQUEST });
        }
        expect((await loginMfa(t, token, right)).status).toBe(200);
      });
    });

    describe('replayed codes', () => {
      it('refuses at POST /login/mfa a code whose step signed in once (401 invalid_mfa_code), on a new mfa_token, and issues nothing', async () => {
        const t = await world();
        const user = await enrolled(t);
        const code = nextCode(t, user.secret);
        expect((await loginMfa(t, await mfaToken(t, user.email), code)).status).toBe(200);
        const sessions = await sessionCount(t, user.userId);
        // The same code, still within its step and within the drift after it.
        for (const seconds of [0, STEP_SEC]) {
          t.clock.advanceSeconds(seconds);
          expect({ seconds, ...refusal(await loginMfa(t, await mfaToken(t, user.email), code)) }).toEqual({ seconds, ...BAD_CODE });
        }
        expect(await sessionCount(t, user.userId)).toBe(sessions);
      });

      it('refuses at POST /login/mfa the code that confirmed the enrolment', async () => {
        const t = await world();
        const user = await enrolled(t);
        expect(refusal(await loginMfa(t, await mfaToken(t, user.email), totpCode(user.secret, t.clock.now())))).toEqual(BAD_CODE);
      });

      it('refuses at DELETE /mfa/totp a code whose step signed in, and the confirming code (401 invalid_mfa_code), the factor still on', async () => {
        const t = await world();
        const user = await enrolled(t);
        expect(refusal(await removeFactor(t, user.access, totpCode(user.secret, t.clock.now())))).toEqual(BAD_CODE);
        const code = nextCode(t, user.secret);
        expect((await loginMfa(t, await mfaToken(t, user.email), code)).status).toBe(200);
        expect(refusal(await removeFactor(t, user.access, code))).toEqual(BAD_CODE);
        expect(await stillGuarded(t, user.email)).toBe(true);
      });

      it('refuses a code of an earlier step, still within the drift, once a later step was used', async () => {
        const t = await world();
        const user = await enrolled(t);
        t.clock.advanceSeconds(10 * STEP_SEC);
        const earlier = totpCode(user.secret, t.clock.now() - STEP_SEC * 1000);
        const current = totpCode(user.secret, t.clock.now());
        expect((await loginMfa(t, await mfaToken(t, user.email), current)).status).toBe(200);
        expect(refusal(await loginMfa(t, await mfaToken(t, user.email), earlier))).toEqual(BAD_CODE);
        expect(refusal(await removeFactor(t, user.access, earlier))).toEqual(BAD_CODE);
      });

      it('accepts one of two sign-ins racing with the same code on two mfa_tokens', async () => {
        const t = await world();
        const user = await enrolled(t);
        const code = nextCode(t, user.secret);
        const tokens = await Promise.all([1, 2, 3, 4].map(() => mfaToken(t, user.email)));
        const before = await sessionCount(t, user.userId);
        const answers = await Promise.all(tokens.map((token) => loginMfa(t, token, code)));
        expect(answers.map((res) => res.status).sort()).toEqual([200, 401, 401, 401]);
        for (const res of answers.filter((answer) => answer.status !== 200)) expect(refusal(res)).toEqual(BAD_CODE);
        expect(await sessionCount(t, user.userId)).toBe(before + 1);
      });
    });

    describe("codes of another user", () => {
      it("refuses another user's current TOTP code and recovery code at POST /login/mfa and DELETE /mfa/totp (401 invalid_mfa_code)", async () => {
        const t = await world();
        const [victim, attacker] = [await enrolled(t), await enrolled(t)];
        let foreign = nextCode(t, attacker.secret);
        const own = new Set([-1, 0, 1].map((steps) => totpCode(victim.secret, t.clock.now() + steps * STEP_SEC * 1000)));
        if (own.has(foreign)) foreign = nextCode(t, attacker.secret);
        const before = await sessionCount(t, victim.userId);
        expect(refusal(await loginMfa(t, await mfaToken(t, victim.email), foreign))).toEqual(BAD_CODE);
        expect(refusal(await loginMfa(t, await mfaToken(t, victim.email), attacker.recoveryCodes[0]))).toEqual(BAD_CODE);
        expect(refusal(await removeFactor(t, victim.access, foreign))).toEqual(BAD_CODE);
        expect(refusal(await removeFactor(t, victim.access, attacker.recoveryCodes[1]))).toEqual(BAD_CODE);
        expect(await sessionCount(t, victim.userId)).toBe(before);
        expect(await stillGuarded(t, victim.email)).toBe(true);
        // The attacker's own codes were not spent by being tried on the victim.
        expect((await loginMfa(t, await mfaToken(t, attacker.email), attacker.recoveryCodes[0])).status).toBe(200);
      });

      it("refuses a user's mfa_token with the other user's right code, and signs no one in", async () => {
        const t = await world();
        const [victim, attacker] = [await enrolled(t), await enrolled(t)];
        const token = await mfaToken(t, victim.email);
        const code = nextCode(t, attacker.secret);
        const victimCodes = new Set([-1, 0, 1].map((steps) => totpCode(victim.secret, t.clock.now() + steps * STEP_SEC * 1000)));
        const res = await loginMfa(t, token, code);
        if (!victimCodes.has(code)) expect(refusal(res)).toEqual(BAD_CODE);
        expect(await sessionCount(t, attacker.userId)).toBe(1);
      });
    });

    describe('the mfa_token', () => {
      it('works once: a second use after success is 401 invalid_grant, with a right unused code too', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        expect((await loginMfa(t, token, nextCode(t, user.secret))).status).toBe(200);
        const sessions = await sessionCount(t, user.userId);
        expect(refusal(await loginMfa(t, token, nextCode(t, user.secret)))).toEqual(BAD_GRANT);
        expect(refusal(await loginMfa(t, token, user.recoveryCodes[0]))).toEqual(BAD_GRANT);
        expect(await sessionCount(t, user.userId)).toBe(sessions);
      });

      it('spends no code presented with a used mfa_token: that TOTP code and that recovery code still sign in on a fresh one', async () => {
        const t = await world();
        const user = await enrolled(t);
        const used = await mfaToken(t, user.email);
        expect((await loginMfa(t, used, nextCode(t, user.secret))).status).toBe(200);
        const code = nextCode(t, user.secret);
        expect(refusal(await loginMfa(t, used, code))).toEqual(BAD_GRANT);
        expect(refusal(await loginMfa(t, used, user.recoveryCodes[0]))).toEqual(BAD_GRANT);
        expect((await loginMfa(t, await mfaToken(t, user.email), code)).status).toBe(200);
        expect((await loginMfa(t, await mfaToken(t, user.email), user.recoveryCodes[0])).status).toBe(200);
      });

      it('spends no code presented with an mfa_token void after 5 wrong codes', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        for (let attempt = 1; attempt <= 5; attempt += 1) await loginMfa(t, token, wrongCode(t, user.secret));
        expect(refusal(await loginMfa(t, token, user.recoveryCodes[0]))).toEqual(BAD_GRANT);
        expect((await loginMfa(t, await mfaToken(t, user.email), user.recoveryCodes[0])).status).toBe(200);
      });

      it('works once when two right codes (a TOTP code and a recovery code) race on it', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        const before = await sessionCount(t, user.userId);
        const answers = await Promise.all([loginMfa(t, token, nextCode(t, user.secret)), loginMfa(t, token, user.recoveryCodes[0])]);
        expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
        expect(refusal(answers.find((res) => res.status === 401)!).issued).toBe(false);
        expect(await sessionCount(t, user.userId)).toBe(before + 1);
      });

      it('expires after 300 s: 401 invalid_grant with the current right code, no session', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        t.clock.advanceSeconds(300);
        expect(refusal(await loginMfa(t, token, totpCode(user.secret, t.clock.now())))).toEqual(BAD_GRANT);
        t.clock.advanceSeconds(3600);
        expect(refusal(await loginMfa(t, token, user.recoveryCodes[0]))).toEqual(BAD_GRANT);
        expect(await sessionCount(t, user.userId)).toBe(1);
        // The code the expired token could not use still signs in on a fresh one.
        expect((await loginMfa(t, await mfaToken(t, user.email), totpCode(user.secret, t.clock.now()))).status).toBe(200);
      });

      it('still works at 299 s', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        t.clock.advanceSeconds(299);
        expect((await loginMfa(t, token, totpCode(user.secret, t.clock.now()))).status).toBe(200);
      });

      it('is void after 5 wrong codes: the right code then is 401 invalid_grant, and so is a recovery code', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        const right = nextCode(t, user.secret);
        for (let attempt = 1; attempt <= 5; attempt += 1) {
          expect({ attempt, ...refusal(await loginMfa(t, token, wrongCode(t, user.secret))) }).toEqual({ attempt, ...BAD_CODE });
        }
        expect(refusal(await loginMfa(t, token, right))).toEqual(BAD_GRANT);
        expect(refusal(await loginMfa(t, token, user.recoveryCodes[0]))).toEqual(BAD_GRANT);
        expect(await sessionCount(t, user.userId)).toBe(1);
      });

      it('checks no more than 5 of many wrong codes sent at once: the others are 401 invalid_grant, and the token is void', async () => {
        const t = await world();
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        const wrong = wrongCode(t, user.secret);
        const answers = await Promise.all(Array.from({ length: 12 }, () => loginMfa(t, token, wrong)));
        const errors = answers.map((res) => refusal(res));
        // Each checked guess holds the sign-in while its code is looked at, so concurrent guesses
        // find it taken: at least one and at most 5 are checked, every other one is invalid_grant.
        const checked = errors.filter((error) => error.error === 'invalid_mfa_code').length;
        expect(checked >= 1 && checked <= 5).toBe(true);
        expect(errors.filter((error) => error.error === 'invalid_grant')).toHaveLength(12 - checked);
        expect(errors.every((error) => !error.issued)).toBe(true);
        expect(refusal(await loginMfa(t, token, nextCode(t, user.secret)))).toEqual(BAD_GRANT);
      });

      describe('forged, tampered or of another kind', () => {
        let t: Target;
        let user: Enrolled;
        let other: Enrolled;
        beforeAll(async () => {
          t = await world();
          user = await enrolled(t);
          other = await enrolled(t);
        });

        /** Variants of a real mfa_token of `user`, each of which must be refused. */
        function forgeries(real: string): [string, string][] {
          const [header, payload, signature] = real.split('.') as [string, string, string];
          const { header: head, payload: claims } = decodeJwt(real);
          const otherSub = { ...claims, sub: other.userId };
          const longer = { ...claims, exp: (claims.exp as number) + 3600 };
          const flipped = signature[0] === 'A' ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
          return [
            ['its sub changed to another user, the signature kept', `${header}.${jwtSegment(otherSub)}.${signature}`],
            ['its exp extended, the signature kept', `${header}.${jwtSegment(longer)}.${signature}`],
            ['a signature byte changed', `${header}.${payload}.${flipped}`],
            ['no signature', `${header}.${payload}.`],
            ['alg none', `${jwtSegment({ ...head, alg: 'none' })}.${payload}.`],
            ['signed with another server\'s key', forgeJwt(head, claims, { alg: 'HS256', hmacKey: 'another-auth-server-Qm7vR2xK9pL4wT8nY3bJ6hF1dS5gZ0cA' })],
            ['signed with the access-token secret', forgeJwt(head, claims, { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
            ['another user\'s sub, signed with the access-token secret', forgeJwt(head, otherSub, { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
            ['signed with the refresh secret under HS512', forgeJwt({ ...head, alg: 'HS512' }, claims, { alg: 'HS512', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
            ['its type changed to the refresh token\'s, the signature kept', `${jwtSegment({ ...head, typ: 'rt+jwt' })}.${payload}.${signature}`],
            ['its last character cut', real.slice(0, -1)],
            ['twice over', `${real}${real}`],
            ['not a JWT', 'not-a-token'],
          ];
        }

        it('refuses each forgery with 401 invalid_grant, even with the right code, and opens no session', async () => {
          const real = await mfaToken(t, user.email);
          const before = [await sessionCount(t, user.userId), await sessionCount(t, other.userId)];
          // One right code for all (a forgery is refused before any code is looked at); the clock stays within the token's life.
          const code = nextCode(t, user.secret);
          for (const [what, forged] of forgeries(real)) {
            expect({ what, ...refusal(await loginMfa(t, forged, code)) }).toEqual({ what, ...BAD_GRANT });
          }
          expect([await sessionCount(t, user.userId), await sessionCount(t, other.userId)]).toEqual(before);
          // The real one, untouched by all that, still works.
          expect((await loginMfa(t, real, code)).status).toBe(200);
        });

        it('refuses an access token and a refresh token as mfa_token (401 invalid_grant), with the right code', async () => {
          const signedIn = await loginMfa(t, await mfaToken(t, user.email), nextCode(t, user.secret));
          expect(signedIn.status).toBe(200);
          const before = await sessionCount(t, user.userId);
          for (const [what, token] of [
            ['an access token', signedIn.body.access_token as string],
            ['a refresh token', signedIn.body.refresh_token as string],
            ["the victim's access token", t.victim.tokens.access_token],
            ["the victim's refresh token", t.victim.tokens.refresh_token],
          ]) {
            expect({ what, ...refusal(await loginMfa(t, token, nextCode(t, user.secret))) }).toEqual({ what, ...BAD_GRANT });
          }
          expect(await sessionCount(t, user.userId)).toBe(before);
        });

        it('refuses an mfa_token as a Bearer access token at every door, and as a refresh token at /refresh and /logout', async () => {
          const token = await mfaToken(t, user.email);
          await expectAccessTokenRefused(t, token);
          await expectRefreshTokenRefused(t, token);
          expect(refusal(await request(t.http).post('/mfa/totp').set(...bearer(token)))).toEqual({ status: 401, type: JSON_TYPE, error: 'invalid_token', issued: false });
          expect(refusal(await removeFactor(t, token, nextCode(t, user.secret)))).toEqual({ status: 401, type: JSON_TYPE, error: 'invalid_token', issued: false });
          expect(await stillGuarded(t, user.email)).toBe(true);
        });
      });
    });

    describe('the failed-login limit', () => {
      const TIGHT = { MFA_ENCRYPTION_KEY: MFA_KEY, LOGIN_RATE_LIMIT_MAX: '3' };

      it('counts wrong codes at POST /login/mfa: after LOGIN_RATE_LIMIT_MAX of them the right password at /login is 429, and the right code too', async () => {
        const t = await world(TIGHT);
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        for (let attempt = 1; attempt <= 3; attempt += 1) {
          expect({ attempt, ...refusal(await loginMfa(t, token, wrongCode(t, user.secret))) }).toEqual({ attempt, ...BAD_CODE });
        }
        expect(refusal(await request(t.http).post('/login').send({ email: user.email, password: PASSWORD }))).toEqual(LIMITED);
        expect(refusal(await loginMfa(t, token, nextCode(t, user.secret)))).toEqual(LIMITED);
        expect(await sessionCount(t, user.userId)).toBe(1);
      });

      it('counts wrong codes at DELETE /mfa/totp the same: then /login is 429', async () => {
        const t = await world(TIGHT);
        const user = await enrolled(t);
        for (let attempt = 1; attempt <= 3; attempt += 1) {
          expect({ attempt, ...refusal(await removeFactor(t, user.access, wrongCode(t, user.secret))) }).toEqual({ attempt, ...BAD_CODE });
        }
        expect(refusal(await request(t.http).post('/login').send({ email: user.email, password: PASSWORD }))).toEqual(LIMITED);
        expect(refusal(await removeFactor(t, user.access, nextCode(t, user.secret)))).toEqual(LIMITED);
      });

      it('counts wrong passwords at /login against the codes: after them the right code at /login/mfa is 429', async () => {
        const t = await world(TIGHT);
        const user = await enrolled(t);
        const token = await mfaToken(t, user.email);
        for (let attempt = 1; attempt <= 3; attempt += 1) {
          expect((await request(t.http).post('/login').send({ email: user.email, password: 'not the password at all' })).status).toBe(401);
        }
        expect(refusal(await loginMfa(t, token, nextCode(t, user.secret)))).toEqual(LIMITED);
      });
    });

    describe('recovery codes', () => {
      it('each works once, in any case and spacing, and a used one fails in every spelling', async () => {
        const t = await world();
        const user = await enrolled(t);
        const spell = [
          (code: string) => code,
          (code: string) => code.toLowerCase(),
          (code: string) => code.replace('-', ''),
          (code: string) => code.replace('-', ' '),
          (code: string) => ` ${code.toLowerCase().replace('-', '')} `,
          (code: string) => code.replace('-', '').split('').join(' '),
        ];
        for (const [index, spelling] of spell.entries()) {
          const code = user.recoveryCodes[index]!;
          const res = await loginMfa(t, await mfaToken(t, user.email), spelling(code));
          expect({ index, status: res.status, issued: issuedTokens(res), amr: res.status === 200 ? decodeJwt(res.body.access_token).payload.amr : null }).toEqual({
            index,
            status: 200,
            issued: true,
            amr: ['pwd', 'otp'],
          });
          for (const again of spell) {
            expect({ index, again: again(code), ...refusal(await loginMfa(t, await mfaToken(t, user.email), again(code))) }).toEqual({ index, again: again(code), ...BAD_CODE });
          }
        }
      });

      it('a recovery code used to sign in cannot remove the factor, and one that removed it is gone with it', async () => {
        const t = await world();
        const user = await enrolled(t);
        const [used, remover] = user.recoveryCodes as [string, string];
        expect((await loginMfa(t, await mfaToken(t, user.email), used)).status).toBe(200);
        expect(refusal(await removeFactor(t, user.access, used))).toEqual(BAD_CODE);
        expect(await stillGuarded(t, user.email)).toBe(true);
        expect((await removeFactor(t, user.access, remover.toLowerCase())).status).toBe(204);
        expect(await stillGuarded(t, user.email)).toBe(false);
      });

      it('one recovery code raced on two sign-ins opens one session', async () => {
        const t = await world();
        const user = await enrolled(t);
        const tokens = await Promise.all([1, 2, 3].map(() => mfaToken(t, user.email)));
        const before = await sessionCount(t, user.userId);
        const answers = await Promise.all(tokens.map((token, i) => loginMfa(t, token, i === 1 ? user.recoveryCodes[0]!.toLowerCase() : user.recoveryCodes[0])));
        expect(answers.map((res) => res.status).sort()).toEqual([200, 401, 401]);
        for (const res of answers.filter((answer) => answer.status !== 200)) expect(refusal(res)).toEqual(BAD_CODE);
        expect(await sessionCount(t, user.userId)).toBe(before + 1);
      });

      it('a near miss of a recovery code (one character changed, one cut) is refused and spends nothing', async () => {
        const t = await world();
        const user = await enrolled(t);
        const real = user.recoveryCodes[0]!;
        const changed = `${real[0] === 'A' ? 'B' : 'A'}${real.slice(1)}`;
        expect(refusal(await loginMfa(t, await mfaToken(t, user.email), changed))).toEqual(BAD_CODE);
        expect(refusal(await loginMfa(t, await mfaToken(t, user.email), real.slice(0, -1)))).toEqual(
          expect.objectContaining({ status: expect.any(Number), issued: false }),
        );
        expect((await loginMfa(t, await mfaToken(t, user.email), real)).status).toBe(200);
      });
    });

    describe('enrolment races', () => {
      it('of two confirms of one pending secret at once, one is 200 with recovery codes, the other a 4xx without', async () => {
        const t = await world();
        const { email, tokens } = await registerAndLogin(t.http);
        const start = await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token));
        const secret = start.body.secret as string;
        const code = totpCode(secret, t.clock.now());
        const answers = await Promise.all([1, 2].map(() => request(t.http).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code })));
        expect(answers.map((res) => res.status >= 400 && res.status < 500).sort()).toEqual([false, true]);
        const won = answers.find((res) => res.status === 200)!;
        const lost = answers.find((res) => res.status !== 200)!;
        expect(won.body.recovery_codes).toHaveLength(10);
        expect({ recoveryCodes: 'recovery_codes' in lost.body, error: ['mfa_already_enabled', 'invalid_request', 'invalid_mfa_code'].includes(lost.body.error) }).toEqual({
          recoveryCodes: false,
          error: true,
        });
        // The stored hashes are the winner's: its codes sign in.
        const res = await loginMfa(t, await mfaToken(t, email), won.body.recovery_codes[0]);
        expect(res.status).toBe(200);
      });

      it('of two confirms of one pending secret with different codes of its window at once, one is 200', async () => {
        const t = await world();
        const { tokens } = await registerAndLogin(t.http);
        const start = await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token));
        const secret = start.body.secret as string;
        const codes = [totpCode(secret, t.clock.now()), totpCode(secret, t.clock.now() - STEP_SEC * 1000)];
        const answers = await Promise.all(codes.map((code) => request(t.http).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code })));
        expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
        expect(answers.filter((res) => res.status !== 200).every((res) => res.status >= 400 && res.status < 500 && !('recovery_codes' in res.body))).toBe(true);
      });

      it('a restarted enrolment replaces the pending secret: a code of the first is then refused', async () => {
        const t = await world();
        const { tokens } = await registerAndLogin(t.http);
        const first = (await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token))).body.secret as string;
        const second = (await request(t.http).post('/mfa/totp').set(...bearer(tokens.access_token))).body.secret as string;
        expect(second).not.toBe(first);
        const code = totpCode(first, t.clock.now());
        const secondCodes = new Set([-1, 0, 1].map((steps) => totpCode(second, t.clock.now() + steps * STEP_SEC * 1000)));
        const res = await request(t.http).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code });
        if (!secondCodes.has(code)) expect(refusal(res)).toEqual(BAD_CODE);
        expect((await request(t.http).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(second, t.clock.now()) })).status).toBe(200);
      });

      it('refuses a second enrolment while one is confirmed (409), leaving the factor as it was', async () => {
        const t = await world();
        const user = await enrolled(t);
        const answers = await Promise.all([1, 2].map(() => request(t.http).post('/mfa/totp').set(...bearer(user.access))));
        for (const res of answers) expect(refusal(res)).toEqual({ status: 409, type: JSON_TYPE, error: 'mfa_already_enabled', issued: false });
        expect((await loginMfa(t, await mfaToken(t, user.email), nextCode(t, user.secret))).status).toBe(200);
      });
    });

    auditResponses(recorder, { atLeast: 200 });
  },
  { pglite: 'never' },
);
