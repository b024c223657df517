// Attacks on the account lifecycle: racing, forging, moving and outliving reset and verification links; the sessions a change, a reset or a deletion ends; one account against another; and two instances on one store.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { openSqlStores } from '../../src/stores/sql';
import type { Stores } from '../../src/stores/types';
import {
  auditResponses,
  expectAccessTokenRevoked,
  expectRefreshTokenEnded,
  introspect,
  ResponseRecorder,
  target,
  type RecordedResponse,
  type Target,
} from '../helpers/attack';
import { targetOn } from '../helpers/backend-target';
import { buildTestApp, type TestApp } from '../helpers/build-app';
import { eventually } from '../helpers/eventually';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, decodeJwt, login, PASSWORD, register, uniqueEmail, type TokenResponseBody } from '../helpers/fixtures';
import { INTERNALS } from '../helpers/no-leak';
import { describeWithPostgres, dropSchema, uniqueSchema } from '../helpers/postgres';
import { deleteKeys, describeWithRedis, openRedisStores, uniquePrefix } from '../helpers/redis';
import { describeEachBackend } from '../helpers/store-backends';
import { settled, theTokenMailed, tokensMailed } from './mail-log';

const HOUR = 3600;
const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';
/** The routes of the lifecycle: no answer of theirs may carry a password, a hash, a link's token or a stack trace. */
const LIFECYCLE_ROUTES = ['/password/change', '/password/forgot', '/password/reset', '/email/verify', '/email/verify/resend', '/profile'];

let passwords = 0;

/** A new password the register rules accept, never used before, and registered with `recorder` as a value no answer may show. */
function freshPassword(recorder: ResponseRecorder): string {
  passwords += 1;
  const password = `fresh passphrase ${passwords} of ${process.pid}`;
  recorder.secret(`new password #${passwords}`, password);
  return password;
}

/** What a user of these attacks holds: the address, the password, the tokens of one session, and the link mailed at registration. */
interface Account {
  email: string;
  password: string;
  tokens: TokenResponseBody;
  verification: string;
}

/** The requests of the lifecycle, each as a client sends it, with the attack suites' recorder seeing every answer. */
function lifecycle(recorder: ResponseRecorder) {
  const calls = {
    forgot: (on: Target | AuthApp, email: string) => request(http(on)).post('/password/forgot').send({ email }),
    reset: (on: Target | AuthApp, token: string, newPassword = freshPassword(recorder)) =>
      request(http(on)).post('/password/reset').send({ token, new_password: newPassword }),
    verify: (on: Target | AuthApp, token: string) => request(http(on)).post('/email/verify').send({ token }),
    change: (on: Target | AuthApp, access: string, current: string, next = freshPassword(recorder)) =>
      request(http(on)).post('/password/change').set(...bearer(access)).send({ current_password: current, new_password: next }),
    resend: (on: Target | AuthApp, access: string) => request(http(on)).post('/email/verify/resend').set(...bearer(access)),
    remove: (on: Target | AuthApp, access: string, password: string) => request(http(on)).delete('/profile').set(...bearer(access)).send({ password }),
    profile: (on: Target | AuthApp, access: string) => request(http(on)).get('/profile').set(...bearer(access)),
    refresh: (on: Target | AuthApp, refreshToken: string) => request(http(on)).post('/refresh').send({ refresh_token: refreshToken }),

    /** A new account, logged in once, with the token of the verification mail its registration sent. */
    async account(on: Target, chosen = PASSWORD): Promise<Account> {
      const from = on.logs.length;
      const { email, password } = await register(on.http, uniqueEmail(), chosen);
      await settled(on.http);
      const verification = theTokenMailed(on.logs, email, 'verification', from);
      recorder.secret(`the verification token of ${email}`, verification);
      return { email, password, tokens: await login(on.http, email, password), verification };
    },

    /** Asks for a reset link for `email` and returns its token. */
    async resetToken(on: Target, email: string): Promise<string> {
      const from = on.logs.length;
      expect((await calls.forgot(on, email)).status).toBe(202);
      await settled(on.http);
      const token = theTokenMailed(on.logs, email, 'reset', from);
      recorder.secret(`a reset token of ${email}`, token);
      return token;
    },
  };
  return calls;
}

function http(on: Target | AuthApp): AuthApp {
  return 'http' in on ? on.http : on;
}

/** The answer to a one-time token that is unknown, used, expired or of the other purpose, as one object so that a failure shows all of it. */
function grantRefusal(res: request.Response) {
  return {
    status: res.status,
    type: res.headers['content-type'],
    error: res.body?.error,
    description: typeof res.body?.error_description,
    issued: typeof res.body === 'object' && res.body !== null && ('access_token' in res.body || 'user' in res.body),
  };
}

const ONE_TIME_REFUSED = { status: 400, type: 'application/json; charset=utf-8', error: 'invalid_grant', description: 'string', issued: false };

/** A refusal at a Bearer route, with its challenge. */
function bearerRefusal(res: request.Response) {
  return { status: res.status, body: res.body as unknown, challenge: res.headers['www-authenticate'] };
}

const TOKEN_REVOKED = { status: 401, body: { error: 'invalid_token', error_description: 'token revoked' }, challenge: REVOKED };

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Tokens one small step from `real`: each differs from it, none is it. */
function nearMisses(real: string): [string, string][] {
  const flip = (at: number) => `${real.slice(0, at)}${real[at] === 'A' ? 'B' : 'A'}${real.slice(at + 1)}`;
  const letter = [...real].findIndex((char) => /[a-z]/i.test(char));
  const other = real[letter]! === real[letter]!.toLowerCase() ? real[letter]!.toUpperCase() : real[letter]!.toLowerCase();
  // 43 base64url characters carry 256 bits and 2 spare ones: another last character can decode to the same bytes.
  const last = BASE64URL.indexOf(real[real.length - 1]!);
  return [
    ['its first character changed', flip(0)],
    ['a middle character changed', flip(Math.floor(real.length / 2))],
    ['its last character changed', flip(real.length - 1)],
    ['one letter in the other case', `${real.slice(0, letter)}${other}${real.slice(letter + 1)}`],
    ['the same bytes spelled with another last character', `${real.slice(0, -1)}${BASE64URL[last ^ 1]}`],
    ['base64 padding added', `${real}=`],
    ['its last character cut', real.slice(0, -1)],
    ['a character added', `${real}A`],
    ['in standard base64 (+ and / for - and _)', real.includes('-') || real.includes('_') ? real.replace(/-/g, '+').replace(/_/g, '/') : `${real.slice(0, -1)}+`],
    ['percent-encoded', [...real].map((char) => `%${char.charCodeAt(0).toString(16)}`).join('').slice(0, 500)],
    ['twice over', `${real}${real}`],
  ];
}

/** One call of a store method held at its door: `arrived` once a caller reaches it, `release()` lets it through. */
interface HeldCall {
  armed: boolean;
  arrived: Promise<void>;
  release(): void;
}

function heldCall(): HeldCall & { reached(): void; released: Promise<void> } {
  let reached!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { armed: false, arrived, released, reached, release };
}

/** The backend's stores, where the next `sessions.create` after `held.armed` is set waits for `held.release()`: a login caught between its password check and its new session. */
function holdingSessionCreate(stores: Stores, held: () => ReturnType<typeof heldCall>): Stores {
  const sessions = new Proxy(stores.sessions, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== 'create') return method;
      return async (...args: unknown[]) => {
        const hold = held();
        if (hold.armed) {
          hold.armed = false;
          hold.reached();
          await hold.released;
        }
        return method(...args);
      };
    },
  });
  // A proxy, not a spread: Redis and SQL stores may be class instances whose close() and feeds live on the prototype.
  return new Proxy(stores, {
    get(target, property) {
      if (property === 'sessions') return sessions;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// Runs on each storage backend: one-time tokens, their single use under a race, and the sessions a change ends are the store's. PGlite is left out: these suites open stores by the dozen, and PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('account lifecycle', (backend) => {
  const recorder = new ResponseRecorder();
  const call = lifecycle(recorder);
  let t: Target;

  beforeAll(async () => {
    t = await targetOn(backend, recorder);
  });
  afterAll(() => settled(t.http));

  /** A target of its own, for the tests that move its clock. */
  async function own(env: Record<string, string> = {}): Promise<Target> {
    return targetOn(backend, recorder, env);
  }

  /**
   * For a genuine access token of a session that has ended: refused as revoked at GET /profile,
   * GET /sessions and /introspect, and at every lifecycle route that takes a Bearer token, even with
   * the right password; the refresh token of the session issues nothing.
   */
  async function expectSessionEnded(on: Target, tokens: TokenResponseBody, password: string): Promise<void> {
    await expectAccessTokenRevoked(on, tokens.access_token);
    const doors: [string, request.Response][] = [
      ['POST /password/change', await call.change(on, tokens.access_token, password)],
      ['POST /email/verify/resend', await call.resend(on, tokens.access_token)],
      ['DELETE /profile', await call.remove(on, tokens.access_token, password)],
    ];
    for (const [door, res] of doors) expect({ door, ...bearerRefusal(res) }).toEqual({ door, ...TOKEN_REVOKED });
    await expectRefreshTokenEnded(on, tokens.refresh_token);
  }

  describe('racing one-time tokens', () => {
    it("lets exactly one of eight parallel resets with one token through (204), refuses the seven others (400 invalid_grant), and sets the winner's password", async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      const attempts = Array.from({ length: 8 }, () => freshPassword(recorder));
      const results = await Promise.all(attempts.map((password) => call.reset(t, token, password)));

      expect(results.map((res) => res.status).sort()).toEqual([204, 400, 400, 400, 400, 400, 400, 400]);
      for (const res of results.filter((r) => r.status === 400)) expect(grantRefusal(res)).toEqual(ONE_TIME_REFUSED);
      const winner = attempts[results.findIndex((res) => res.status === 204)]!;
      const loser = attempts[results.findIndex((res) => res.status === 400)]!;
      expect((await request(t.http).post('/login').send({ email: victim.email, password: loser })).status).toBe(401);
      expect((await request(t.http).post('/login').send({ email: victim.email, password: winner })).status).toBe(200);
      expect(grantRefusal(await call.reset(t, token))).toEqual(ONE_TIME_REFUSED);
    });

    it('verifies once with eight parallel requests of one verification token: one 200 with email_verified, seven 400 invalid_grant', async () => {
      const victim = await call.account(t);
      const results = await Promise.all(Array.from({ length: 8 }, () => call.verify(t, victim.verification)));

      expect(results.map((res) => res.status).sort()).toEqual([200, 400, 400, 400, 400, 400, 400, 400]);
      const won = results.find((res) => res.status === 200)!;
      expect(won.body.user).toMatchObject({ email: victim.email, email_verified: true });
      for (const res of results.filter((r) => r.status === 400)) expect(grantRefusal(res)).toEqual(ONE_TIME_REFUSED);
    });

    it('lets a reset and a verification of one account race without either taking the other\'s token', async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      const [reset, verified] = await Promise.all([call.reset(t, token), call.verify(t, victim.verification)]);
      expect([reset.status, verified.status]).toEqual([204, 200]);
    });
  });

  describe('a token at the wrong door', () => {
    it('refuses a verification token at /password/reset (400 invalid_grant) and it still verifies the address afterwards', async () => {
      const victim = await call.account(t);
      expect(grantRefusal(await call.reset(t, victim.verification))).toEqual(ONE_TIME_REFUSED);
      expect((await call.profile(t, victim.tokens.access_token)).status).toBe(200);
      const verified = await call.verify(t, victim.verification);
      expect({ status: verified.status, verified: verified.body.user?.email_verified }).toEqual({ status: 200, verified: true });
    });

    it('refuses a reset token at /email/verify (400 invalid_grant), leaves the address unverified, and the token still resets the password afterwards', async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      expect(grantRefusal(await call.verify(t, token))).toEqual(ONE_TIME_REFUSED);
      expect((await call.profile(t, victim.tokens.access_token)).body.user.email_verified).toBe(false);
      expect((await call.reset(t, token)).status).toBe(204);
    });

    it('never takes an access token, a refresh token or a Bearer header as a one-time token', async () => {
      const victim = await call.account(t);
      for (const token of [victim.tokens.access_token, victim.tokens.refresh_token]) {
        expect(grantRefusal(await call.reset(t, token))).toEqual(ONE_TIME_REFUSED);
        expect(grantRefusal(await call.verify(t, token))).toEqual(ONE_TIME_REFUSED);
      }
      const withBearer = await request(t.http).post('/email/verify').set(...bearer(victim.tokens.access_token)).send({ token: 'A'.repeat(43) });
      expect(grantRefusal(withBearer)).toEqual(ONE_TIME_REFUSED);
      expect((await call.profile(t, victim.tokens.access_token)).body.user.email_verified).toBe(false);
    });

    it('never reads a one-time token from the query string', async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      const reset = await request(t.http).post(`/password/reset?token=${token}`).send({ new_password: freshPassword(recorder) });
      expect({ status: reset.status, error: reset.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      const verify = await request(t.http).post(`/email/verify?token=${victim.verification}`).send({});
      expect({ status: verify.status, error: verify.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      expect((await call.reset(t, token)).status).toBe(204);
      expect((await call.verify(t, victim.verification)).status).toBe(200);
    });
  });

  describe('tokens that are not the one mailed', () => {
    it('refuses every near miss of a reset token (400 invalid_grant), and none of them uses it up', async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      for (const [what, miss] of nearMisses(token)) {
        expect(miss).not.toBe(token);
        expect({ what, ...grantRefusal(await call.reset(t, miss)) }).toEqual({ what, ...ONE_TIME_REFUSED });
      }
      expect((await call.profile(t, victim.tokens.access_token)).status).toBe(200);
      expect((await call.reset(t, token)).status).toBe(204);
    });

    it('refuses every near miss of a verification token (400 invalid_grant), and none of them uses it up', async () => {
      const victim = await call.account(t);
      for (const [what, miss] of nearMisses(victim.verification)) {
        expect({ what, ...grantRefusal(await call.verify(t, miss)) }).toEqual({ what, ...ONE_TIME_REFUSED });
      }
      expect((await call.profile(t, victim.tokens.access_token)).body.user.email_verified).toBe(false);
      expect((await call.verify(t, victim.verification)).status).toBe(200);
    });

    it('refuses tokens made up in the right shape: 43 base64url characters, all zero bits, all one bits', async () => {
      for (const made of [Buffer.alloc(32).toString('base64url'), Buffer.alloc(32, 0xff).toString('base64url'), 'A'.repeat(43), 'q8Jx0bQe3c2mT9rZ1yK4vW7nL5pA6sD8fG0hJ2kL4mN']) {
        expect(grantRefusal(await call.reset(t, made))).toEqual(ONE_TIME_REFUSED);
        expect(grantRefusal(await call.verify(t, made))).toEqual(ONE_TIME_REFUSED);
      }
    });

    it("resets only the account a token was mailed to: another user's token, sent with an attacker's Bearer token, leaves the attacker's account as it was", async () => {
      const attacker = await call.account(t);
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      const newPassword = freshPassword(recorder);
      const res = await request(t.http).post('/password/reset').set(...bearer(attacker.tokens.access_token)).send({ token, new_password: newPassword });
      expect(res.status).toBe(204);
      expect((await call.profile(t, attacker.tokens.access_token)).status).toBe(200);
      await login(t.http, attacker.email, attacker.password);
      await expectSessionEnded(t, victim.tokens, newPassword);
      await login(t.http, victim.email, newPassword);
    });

    it('voids the links of a deleted account: after the address is registered again, the old reset and verification tokens are 400 invalid_grant for the new account', async () => {
      const gone = await call.account(t);
      const token = await call.resetToken(t, gone.email);
      expect((await call.remove(t, gone.tokens.access_token, gone.password)).status).toBe(204);
      expect(grantRefusal(await call.reset(t, token))).toEqual(ONE_TIME_REFUSED);

      const from = t.logs.length;
      await register(t.http, gone.email, PASSWORD);
      await settled(t.http);
      const newcomer = await login(t.http, gone.email);
      expect(newcomer.user.id).not.toBe(gone.tokens.user.id);
      expect(grantRefusal(await call.reset(t, token))).toEqual(ONE_TIME_REFUSED);
      expect(grantRefusal(await call.verify(t, gone.verification))).toEqual(ONE_TIME_REFUSED);
      expect((await call.profile(t, newcomer.access_token)).body.user.email_verified).toBe(false);
      await login(t.http, gone.email, PASSWORD);
      // The new account's own link works.
      expect((await call.verify(t, theTokenMailed(t.logs, gone.email, 'verification', from))).status).toBe(200);
    });

    it('honours a reset token up to PASSWORD_RESET_TTL (1 h) and refuses it from the hour on (400 invalid_grant)', async () => {
      const on = await own();
      const early = await call.account(on);
      const late = await call.account(on);
      const earlyToken = await call.resetToken(on, early.email);
      const lateToken = await call.resetToken(on, late.email);
      on.clock.advanceSeconds(HOUR - 1);
      expect((await call.reset(on, earlyToken)).status).toBe(204);
      on.clock.advanceSeconds(1);
      expect(grantRefusal(await call.reset(on, lateToken))).toEqual(ONE_TIME_REFUSED);
      await login(on.http, late.email, late.password);
    });

    it('honours a verification token up to EMAIL_VERIFICATION_TTL (24 h) and refuses it from then on (400 invalid_grant)', async () => {
      const on = await own();
      const early = await call.account(on);
      const late = await call.account(on);
      on.clock.advanceSeconds(24 * HOUR - 1);
      expect((await call.verify(on, early.verification)).status).toBe(200);
      on.clock.advanceSeconds(1);
      expect(grantRefusal(await call.verify(on, late.verification))).toEqual(ONE_TIME_REFUSED);
    });
  });

  describe('links made void', () => {
    it('voids the reset link mailed before a password change (400 invalid_grant): a thief with the mail cannot undo the change', async () => {
      const victim = await call.account(t);
      const token = await call.resetToken(t, victim.email);
      const newPassword = freshPassword(recorder);
      expect((await call.change(t, victim.tokens.access_token, victim.password, newPassword)).status).toBe(200);
      expect(grantRefusal(await call.reset(t, token))).toEqual(ONE_TIME_REFUSED);
      await login(t.http, victim.email, newPassword);
    });

    it('voids every other outstanding reset link once one of them is used', async () => {
      const on = await own();
      const victim = await call.account(on);
      const first = await call.resetToken(on, victim.email);
      on.clock.advanceSeconds(61);
      const second = await call.resetToken(on, victim.email);
      expect(second).not.toBe(first);
      const newPassword = freshPassword(recorder);
      expect((await call.reset(on, second, newPassword)).status).toBe(204);
      expect(grantRefusal(await call.reset(on, first))).toEqual(ONE_TIME_REFUSED);
      await login(on.http, victim.email, newPassword);
    });
  });

  describe('sessions ended by a reset, a change or a deletion', () => {
    it('ends every session of the user on a reset: each access token fails at once everywhere (401 "token revoked"), each refresh token issues nothing', async () => {
      const victim = await call.account(t);
      const other = await login(t.http, victim.email, victim.password, 'other device');
      const token = await call.resetToken(t, victim.email);
      const newPassword = freshPassword(recorder);
      const reset = await call.reset(t, token, newPassword);
      expect({ status: reset.status, body: reset.text }).toEqual({ status: 204, body: '' });
      for (const ended of [victim.tokens, other]) await expectSessionEnded(t, ended, newPassword);
      // The account itself is there, with the new password only.
      expect((await request(t.http).post('/login').send({ email: victim.email, password: victim.password })).status).toBe(401);
      await login(t.http, victim.email, newPassword);
    });

    it("ends every session of the user on a change, the caller's own included: only the new session's tokens work", async () => {
      const victim = await call.account(t);
      const thief = await login(t.http, victim.email, victim.password, 'a thief with the password');
      const newPassword = freshPassword(recorder);
      const changed = await call.change(t, victim.tokens.access_token, victim.password, newPassword);
      expect(changed.status).toBe(200);
      const fresh = changed.body as TokenResponseBody;
      expect(decodeJwt(fresh.access_token).payload.sid).not.toBe(decodeJwt(victim.tokens.access_token).payload.sid);

      for (const ended of [victim.tokens, thief]) await expectSessionEnded(t, ended, newPassword);
      expect((await call.profile(t, fresh.access_token)).status).toBe(200);
      const sessions = await request(t.http).get('/sessions').set(...bearer(fresh.access_token));
      expect(sessions.body.sessions.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([[decodeJwt(fresh.access_token).payload.sid, true]]);
      expect((await call.refresh(t, fresh.refresh_token)).status).toBe(200);
    });

    it('refuses /password/change with the access token of a session ended by logout (401 "token revoked"), and the password stays', async () => {
      const victim = await call.account(t);
      expect((await request(t.http).post('/logout').send({ refresh_token: victim.tokens.refresh_token })).status).toBe(204);
      const res = await call.change(t, victim.tokens.access_token, victim.password);
      expect(bearerRefusal(res)).toEqual(TOKEN_REVOKED);
      await login(t.http, victim.email, victim.password);
    });

    it('refuses DELETE /profile and /email/verify/resend with the access token of an ended session, and the account stays', async () => {
      const victim = await call.account(t);
      const ended = await login(t.http, victim.email, victim.password, 'ended');
      const sid = decodeJwt(ended.access_token).payload.sid as string;
      expect((await request(t.http).delete(`/sessions/${sid}`).set(...bearer(victim.tokens.access_token))).status).toBe(204);
      expect(bearerRefusal(await call.remove(t, ended.access_token, victim.password))).toEqual(TOKEN_REVOKED);
      expect(bearerRefusal(await call.resend(t, ended.access_token))).toEqual(TOKEN_REVOKED);
      expect((await call.profile(t, victim.tokens.access_token)).status).toBe(200);
    });

    it("ends the account on DELETE /profile: its refresh token gets 401 invalid_grant, its access token 401 \"token revoked\", its password 401 invalid_credentials", async () => {
      const victim = await call.account(t);
      const other = await login(t.http, victim.email, victim.password, 'other device');
      const res = await call.remove(t, victim.tokens.access_token, victim.password);
      expect({ status: res.status, body: res.text }).toEqual({ status: 204, body: '' });

      for (const tokens of [victim.tokens, other]) {
        const refreshed = await call.refresh(t, tokens.refresh_token);
        expect({ status: refreshed.status, error: refreshed.body.error, issued: 'access_token' in refreshed.body }).toEqual({
          status: 401,
          error: 'invalid_grant',
          issued: false,
        });
        await expectSessionEnded(t, tokens, victim.password);
      }
      const again = await request(t.http).post('/login').send({ email: victim.email, password: victim.password });
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'invalid_credentials' });
    });

    it("does not let a deleted account's tokens reach the account registered next with the same address", async () => {
      const gone = await call.account(t);
      expect((await call.remove(t, gone.tokens.access_token, gone.password)).status).toBe(204);
      const { user } = await register(t.http, gone.email, PASSWORD);
      expect(user.id).not.toBe(gone.tokens.user.id);
      const newcomer = await login(t.http, gone.email);

      await expectSessionEnded(t, gone.tokens, PASSWORD);
      expect((await call.profile(t, newcomer.access_token)).body.user.id).toBe(user.id);
      expect((await introspect(t, gone.tokens.access_token)).body).toEqual({ active: false });
    });
  });

  describe('a login in flight when the password changes or the account goes', () => {
    let hold = heldCall();
    let on: Target;

    beforeAll(async () => {
      const clock = new FakeClock();
      on = await target(recorder, {}, { clock, stores: holdingSessionCreate(await backend.open(clock), () => hold) });
    });
    afterEach(() => {
      hold.release();
      hold = heldCall();
    });

    /** Starts a login with `password` and waits until it has checked the password and is about to open its session. */
    async function loginCaughtInFlight(email: string, password: string): Promise<{ late: Promise<request.Response> }> {
      hold.armed = true;
      const pending = request(on.http).post('/login').set('User-Agent', 'in flight').send({ email, password }).then((res) => res);
      await hold.arrived;
      // In an object: an async function returning the pending answer itself would wait for it.
      return { late: pending };
    }

    /** What the late login left behind: its answer, whether its access token still opens /profile and /sessions, and the user's live sessions. */
    async function leftBehind(userId: string, late: request.Response) {
      const token = late.status === 200 ? (late.body as TokenResponseBody) : null;
      return {
        login: late.status,
        profile: token ? (await call.profile(on, token.access_token)).status : 'no token',
        sessions: token ? (await request(on.http).get('/sessions').set(...bearer(token.access_token))).status : 'no token',
        refresh: token ? (await call.refresh(on, token.refresh_token)).status : 'no token',
        live: (await on.stores.sessions.listByUser(userId)).map((session) => session.id as unknown),
      };
    }

    /** The late login may be refused or may answer 200, but then none of its tokens may work, and only `live` sessions may be left. */
    function expectNothingWorks(after: Awaited<ReturnType<typeof leftBehind>>, live: unknown[]): void {
      const refused = after.login === 200 ? 401 : 'no token';
      expect(after).toEqual({ login: after.login, profile: refused, sessions: refused, refresh: refused, live });
    }

    it('leaves no session with the old password behind a reset: a login that checked it before the reset and opens its session after gets no working token', async () => {
      const victim = await call.account(on);
      const token = await call.resetToken(on, victim.email);
      const { late } = await loginCaughtInFlight(victim.email, victim.password);
      expect((await call.reset(on, token)).status).toBe(204);
      hold.release();
      const after = await leftBehind(victim.tokens.user.id, await late);
      expectNothingWorks(after, []);
    });

    it("leaves only the changer's new session behind a password change: a login with the old password caught in flight gets no working token", async () => {
      const victim = await call.account(on);
      const { late } = await loginCaughtInFlight(victim.email, victim.password);
      const changed = await call.change(on, victim.tokens.access_token, victim.password);
      expect(changed.status).toBe(200);
      hold.release();
      const after = await leftBehind(victim.tokens.user.id, await late);
      expectNothingWorks(after, [decodeJwt(changed.body.access_token).payload.sid]);
    });

    it('leaves no session behind DELETE /profile: a login caught in flight gets no token that works anywhere, GET /sessions included', async () => {
      const victim = await call.account(on);
      const { late } = await loginCaughtInFlight(victim.email, victim.password);
      expect((await call.remove(on, victim.tokens.access_token, victim.password)).status).toBe(204);
      hold.release();
      const after = await leftBehind(victim.tokens.user.id, await late);
      expectNothingWorks(after, []);
    });
  });

  describe('one account against another', () => {
    it("refuses DELETE /profile with another user's password (401 invalid_credentials) and deletes no one", async () => {
      const attacker = await call.account(t);
      const victim = await call.account(t, freshPassword(recorder));
      const res = await call.remove(t, attacker.tokens.access_token, victim.password);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_credentials' });
      expect((await call.profile(t, attacker.tokens.access_token)).status).toBe(200);
      expect((await call.profile(t, victim.tokens.access_token)).status).toBe(200);
    });

    it('deletes only the caller: B\'s tokens, sessions and password still work after A deletes itself', async () => {
      const a = await call.account(t);
      const b = await call.account(t);
      expect((await call.remove(t, a.tokens.access_token, a.password)).status).toBe(204);
      expect((await call.profile(t, b.tokens.access_token)).body.user.email).toBe(b.email);
      expect((await call.refresh(t, b.tokens.refresh_token)).status).toBe(200);
      await login(t.http, b.email, b.password);
    });

    it('cannot name another account in DELETE /profile or /password/change: extra body fields are 400 invalid_request, a query string is ignored, and only the caller can go', async () => {
      const a = await call.account(t);
      const b = await call.account(t);
      const id = JSON.stringify(b.tokens.user.id);
      const naming = [`"user_id":${id}`, `"email":${JSON.stringify(b.email)}`, `"sub":${id}`, `"__proto__":{"user_id":${id}}`, `"constructor":{"prototype":{"user_id":${id}}}`];
      for (const extra of naming) {
        const removed = await request(t.http).delete('/profile').set(...bearer(a.tokens.access_token)).set('Content-Type', 'application/json')
          .send(`{"password":${JSON.stringify(a.password)},${extra}}`);
        expect({ extra, status: removed.status, error: removed.body.error }).toEqual({ extra, status: 400, error: 'invalid_request' });
        const changed = await request(t.http).post('/password/change').set(...bearer(a.tokens.access_token)).set('Content-Type', 'application/json')
          .send(`{"current_password":${JSON.stringify(a.password)},"new_password":${JSON.stringify(freshPassword(recorder))},${extra}}`);
        expect({ extra, status: changed.status, error: changed.body.error }).toEqual({ extra, status: 400, error: 'invalid_request' });
      }
      for (const account of [a, b]) expect((await call.profile(t, account.tokens.access_token)).status).toBe(200);
      // Nor in the query string: with the caller's own password, the caller goes, never the account named.
      const byQuery = await request(t.http).delete(`/profile?user_id=${b.tokens.user.id}&email=${b.email}`).set(...bearer(a.tokens.access_token)).send({ password: a.password });
      expect(byQuery.status).toBe(204);
      expect(bearerRefusal(await call.profile(t, a.tokens.access_token))).toEqual(TOKEN_REVOKED);
      expect((await call.profile(t, b.tokens.access_token)).body.user.email).toBe(b.email);
      await login(t.http, b.email, b.password);
    });

    it("refuses /password/change with another user's current password (401 invalid_credentials) and changes neither password", async () => {
      const a = await call.account(t);
      const b = await call.account(t, freshPassword(recorder));
      const res = await call.change(t, a.tokens.access_token, b.password);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_credentials' });
      await login(t.http, a.email, a.password);
      await login(t.http, b.email, b.password);
    });
  });

  describe('a password asked again is a login attempt', () => {
    it('counts wrong passwords at /password/change and DELETE /profile as failed logins: after five, the right password is 429 at /login, /password/change and DELETE /profile', async () => {
      const victim = await call.account(t);
      const wrong = 'not the password at all';
      for (let i = 0; i < 3; i += 1) expect((await call.change(t, victim.tokens.access_token, wrong)).status).toBe(401);
      for (let i = 0; i < 2; i += 1) expect((await call.remove(t, victim.tokens.access_token, wrong)).status).toBe(401);

      const loginRes = await request(t.http).post('/login').send({ email: victim.email, password: victim.password });
      const changeRes = await call.change(t, victim.tokens.access_token, victim.password);
      const removeRes = await call.remove(t, victim.tokens.access_token, victim.password);
      for (const res of [loginRes, changeRes, removeRes]) {
        expect({ status: res.status, error: res.body.error, retry: Number(res.headers['retry-after']) > 0 }).toEqual({ status: 429, error: 'rate_limited', retry: true });
      }
      // Nothing went through: the account, its password and its session are as they were.
      expect((await call.profile(t, victim.tokens.access_token)).status).toBe(200);
    });

    it('counts failed logins at /login against /password/change: a guesser who used up the budget there cannot go on here', async () => {
      const victim = await call.account(t);
      for (let i = 0; i < 5; i += 1) expect((await request(t.http).post('/login').send({ email: victim.email, password: `guess ${i} guess` })).status).toBe(401);
      const res = await call.change(t, victim.tokens.access_token, victim.password);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 429, error: 'rate_limited' });
    });

    it('spells the wrong-password answer at /password/change and DELETE /profile as /login spells it', async () => {
      const victim = await call.account(t);
      const atLogin = await request(t.http).post('/login').send({ email: uniqueEmail('nobody'), password: 'a wrong password' });
      for (const res of [await call.change(t, victim.tokens.access_token, 'a wrong password'), await call.remove(t, victim.tokens.access_token, 'a wrong password')]) {
        expect({ status: res.status, body: res.body as unknown }).toEqual({ status: atLogin.status, body: atLogin.body as unknown });
      }
    });
  });

  describe('mail on demand', () => {
    it('sends at most one reset mail and one verification mail per MAIL_COOLDOWN however often they are asked for (no mail bombing), every request still 202', async () => {
      const on = await own();
      const victim = await call.account(on);
      const from = on.logs.length;
      for (let i = 0; i < 10; i += 1) {
        expect((await call.forgot(on, victim.email)).status).toBe(202);
        expect((await call.resend(on, victim.tokens.access_token)).body).toEqual({ status: 'accepted' });
      }
      await settled(on.http);
      // The registration's verification mail started that cooldown: the resends within it mail nothing.
      expect([tokensMailed(on.logs, victim.email, 'reset', from).length, tokensMailed(on.logs, victim.email, 'verification', from).length]).toEqual([1, 0]);
      on.clock.advanceSeconds(61);
      await call.forgot(on, victim.email);
      await call.resend(on, victim.tokens.access_token);
      await settled(on.http);
      expect([tokensMailed(on.logs, victim.email, 'reset', from).length, tokensMailed(on.logs, victim.email, 'verification', from).length]).toEqual([2, 1]);
    });

    it('mails no verification link to an address that is verified already', async () => {
      const on = await own();
      const victim = await call.account(on);
      expect((await call.verify(on, victim.verification)).status).toBe(200);
      on.clock.advanceSeconds(61);
      const from = on.logs.length;
      expect((await call.resend(on, victim.tokens.access_token)).status).toBe(202);
      await settled(on.http);
      expect(tokensMailed(on.logs, victim.email, 'verification', from)).toEqual([]);
    });
  });

  describe('what the answers of the lifecycle routes carry', () => {
    it('never a password, a hash, a reset or verification token, or a stack trace, in any answer of theirs', () => {
      const answers = recorder.responses.filter((res: RecordedResponse) => LIFECYCLE_ROUTES.includes(res.url.split('?')[0]!));
      const statuses = new Set(answers.map((res) => res.status));
      // The attacks above drew every kind of answer these routes give.
      expect([200, 202, 204, 400, 401, 429].filter((status) => !statuses.has(status))).toEqual([]);
      const secrets = recorder.secretEntries();
      const leaks = answers.flatMap((res) => [
        ...secrets.filter(([, value]) => res.body.includes(value)).map(([name]) => `${res.method} ${res.url} → ${res.status} shows ${name}`),
        ...(/\$2[aby]\$\d\d\$/.test(res.body) ? [`${res.method} ${res.url} shows a bcrypt hash`] : []),
        ...INTERNALS.filter(([, pattern]) => pattern.test(res.body)).map(([what]) => `${res.method} ${res.url} shows ${what}`),
      ]);
      expect(leaks).toEqual([]);
    });
  });

  auditResponses(recorder, { atLeast: 200 });
}, { pglite: 'never' });

/** What a shared-storage backend gives the two-instance attacks: stores on one storage, opened once per instance. */
interface SharedStorage {
  name: string;
  open(clock: FakeClock): Promise<Stores>;
  cleanup(): Promise<void>;
}

/** Two app instances on one storage (as test/integration/shared-instances.suite.ts builds them), every answer recorded. */
function twoInstanceAttacks(storage: SharedStorage): void {
  describe(`account lifecycle on two instances sharing ${storage.name}`, () => {
    const recorder = new ResponseRecorder();
    const call = lifecycle(recorder);
    const opened: Stores[] = [];
    const apps: AuthApp[] = [];

    afterEach(async () => {
      for (const app of apps.splice(0)) await settled(app);
      await Promise.all(opened.splice(0).map((stores) => stores.close()));
    });
    afterAll(() => storage.cleanup());

    /** Instances A and B on one clock, as two processes behind one load balancer. */
    async function pair(): Promise<{ a: TestApp & { http: AuthApp }; b: TestApp & { http: AuthApp } }> {
      const clock = new FakeClock();
      const make = async () => {
        const stores = await storage.open(clock);
        opened.push(stores);
        const world = buildTestApp({ clock, stores });
        const wrapped = recorder.wrap(world.app);
        apps.push(wrapped);
        return { ...world, http: wrapped };
      };
      return { a: await make(), b: await make() };
    }

    /** A user registered on A, logged in on B, with a reset link asked for on A. */
    async function victimOn(a: TestApp & { http: AuthApp }, b: TestApp & { http: AuthApp }) {
      const { email, password } = await register(a.http);
      const tokens = await login(b.http, email, password);
      const from = a.logs.length;
      expect((await call.forgot(a.http, email)).status).toBe(202);
      await settled(a.http);
      const token = theTokenMailed(a.logs, email, 'reset', from);
      recorder.secret(`a reset token of ${email}`, token);
      return { email, password, tokens, token };
    }

    async function expectRevokedOn(app: AuthApp, tokens: TokenResponseBody): Promise<void> {
      // The instance learns of the end over the store's feed: within a second, not at once.
      await eventually(async () => (await call.profile(app, tokens.access_token)).status === 401, 1000);
      for (const path of ['/profile', '/sessions']) {
        const res = await request(app).get(path).set(...bearer(tokens.access_token));
        expect({ path, ...bearerRefusal(res) }).toEqual({ path, ...TOKEN_REVOKED });
      }
      const refreshed = await call.refresh(app, tokens.refresh_token);
      expect({ status: refreshed.status, error: refreshed.body.error }).toEqual({ status: 401, error: 'invalid_grant' });
    }

    it('makes the old access token fail on instance B within a second of a password reset on instance A', async () => {
      const { a, b } = await pair();
      const victim = await victimOn(a, b);
      expect((await call.profile(b.http, victim.tokens.access_token)).status).toBe(200);
      const newPassword = freshPassword(recorder);
      expect((await call.reset(a.http, victim.token, newPassword)).status).toBe(204);
      await expectRevokedOn(b.http, victim.tokens);
      await expectRevokedOn(a.http, victim.tokens);
      await login(b.http, victim.email, newPassword);
    });

    it("ends the sessions on A within a second of a password change on B, and A honours only the new session's tokens", async () => {
      const { a, b } = await pair();
      const { email, password } = await register(a.http);
      const onA = await login(a.http, email, password);
      const onB = await login(b.http, email, password);
      const changed = await call.change(b.http, onB.access_token, password);
      expect(changed.status).toBe(200);
      for (const tokens of [onA, onB]) await expectRevokedOn(a.http, tokens);
      expect((await call.profile(a.http, changed.body.access_token)).status).toBe(200);
      expect((await call.refresh(a.http, changed.body.refresh_token)).status).toBe(200);
    });

    it('refuses on B, within a second, the tokens of an account deleted on A', async () => {
      const { a, b } = await pair();
      const { email, password } = await register(a.http);
      const tokens = await login(b.http, email, password);
      expect((await call.remove(a.http, tokens.access_token, password)).status).toBe(204);
      await expectRevokedOn(b.http, tokens);
      expect((await request(b.http).post('/login').send({ email, password })).status).toBe(401);
    });

    it('lets one reset token through once when it is sent to A and B at the same time', async () => {
      const { a, b } = await pair();
      const victim = await victimOn(a, b);
      const results = await Promise.all([a, b, a, b].map((instance) => call.reset(instance.http, victim.token)));
      expect(results.map((res) => res.status).sort()).toEqual([204, 400, 400, 400]);
      for (const res of results.filter((r) => r.status === 400)) expect(grantRefusal(res)).toEqual(ONE_TIME_REFUSED);
    });

    it('lets a reset on one instance void the links the other mailed, and the cooldown hold across both', async () => {
      const { a, b } = await pair();
      const victim = await victimOn(a, b);
      // Within A's cooldown, B mails nothing.
      const from = b.logs.length;
      expect((await call.forgot(b.http, victim.email)).status).toBe(202);
      await settled(b.http);
      expect(tokensMailed(b.logs, victim.email, 'reset', from)).toEqual([]);
      expect((await call.change(b.http, victim.tokens.access_token, victim.password)).status).toBe(200);
      expect(grantRefusal(await call.reset(a.http, victim.token))).toEqual(ONE_TIME_REFUSED);
    });

    auditResponses(recorder, { atLeast: 30 });
  });
}

describeWithRedis('Redis', (url) => {
  const prefix = uniquePrefix();
  twoInstanceAttacks({
    name: 'Redis',
    open: (clock) => openRedisStores(url, prefix, clock),
    cleanup: () => deleteKeys(url, prefix),
  });
});

describeWithPostgres('PostgreSQL', (url) => {
  const schema = uniqueSchema();
  twoInstanceAttacks({
    name: 'PostgreSQL',
    async open(clock) {
      const stores = await openSqlStores({ target: { kind: 'postgres', url, schema }, clock, accessTtlMs: 15 * 60_000, logger: createLogger('silent') });
      await stores.whenReady(5000);
      return stores;
    },
    cleanup: () => dropSchema(url, schema),
  });
});
