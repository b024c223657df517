// Attacks on token types and the session lifecycle: the wrong kind of token, replays after rotation, racing refreshes, and tokens of ended sessions.
import request from 'supertest';
import { derivedKeyId } from '../../src/auth/keys';
import {
  auditResponses,
  claimsOf,
  expectAccessTokenRefused,
  expectAccessTokenRevoked,
  expectRefreshTokenEnded,
  expectRefreshTokenRefused,
  expectVictimUntouched,
  introspect,
  ResponseRecorder,
  type Target,
} from '../helpers/attack';
import { decodeJwt, login, registerAndLogin, type TokenResponseBody } from '../helpers/fixtures';
import { forgeJwt } from '../helpers/forge';
import { TEST_ENV } from '../helpers/test-config';
import { targetOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';

// Every attack below runs on each storage backend: rotation, reuse detection and revocation are the store's. PGlite is left out: these suites open stores by the dozen, and PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('lifecycle', (backend) => {
  const recorder = new ResponseRecorder();
  /** The shared target: its clock never moves, its victim is never logged out. */
  let t: Target;

  beforeAll(async () => {
    t = await targetOn(backend, recorder);
  });

  /** Another session of the victim. */
  function newSession(on: Target = t): Promise<TokenResponseBody> {
    return login(on.http, on.victim.email, on.victim.password);
  }

  function refresh(on: Target, refreshToken: string) {
    return request(on.http).post('/refresh').send({ refresh_token: refreshToken });
  }

  function logout(on: Target, body: Record<string, unknown>, accessToken?: string) {
    const req = request(on.http).post('/logout');
    if (accessToken) req.set('Authorization', `Bearer ${accessToken}`);
    return req.send(body);
  }

  /** The claims of a genuine refresh token of the victim, as the server would write them now. */
  function refreshClaims(on: Target, changes: Record<string, unknown> = {}): Record<string, unknown> {
    const now = on.nowSec();
    const base = decodeJwt(on.victim.tokens.refresh_token).payload;
    return Object.fromEntries(
      Object.entries({ ...base, iat: now, exp: now + 604800, ...changes }).filter(([, value]) => value !== undefined),
    );
  }

  const refreshKid = () => decodeJwt(t.victim.tokens.refresh_token).header.kid as string;

  describe('the wrong kind of token', () => {
    it('refuses a refresh token presented as an access token, at every door', async () => {
      await expectAccessTokenRefused(t, t.victim.tokens.refresh_token);
    });

    it('refuses an access token presented as a refresh token, at /refresh and /logout', async () => {
      await expectRefreshTokenRefused(t, t.victim.tokens.access_token);
    });

    const accessForgeries: [string, () => string][] = [
      ['an access token signed with the refresh key, under the access kid', () =>
        forgeJwt({ alg: 'HS256', typ: 'at+jwt', kid: t.kid }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
      ['an access token signed with the refresh key, under the refresh kid', () =>
        forgeJwt({ alg: 'HS256', typ: 'at+jwt', kid: refreshKid() }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
      ['an access token typed "rt+jwt", signed with the access key', () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: t.kid }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['an access token typed "JWT"', () =>
        forgeJwt({ alg: 'HS256', typ: 'JWT', kid: t.kid }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['an access token typed "AT+JWT"', () =>
        forgeJwt({ alg: 'HS256', typ: 'AT+JWT', kid: t.kid }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['an access token without typ', () => forgeJwt({ alg: 'HS256', kid: t.kid }, claimsOf(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ["a refresh token's claims signed with the access key as an access token", () =>
        forgeJwt({ alg: 'HS256', typ: 'at+jwt', kid: t.kid }, refreshClaims(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
    ];

    it.each(accessForgeries)('refuses %s', async (_what, forge) => {
      await expectAccessTokenRefused(t, forge());
    });

    const refreshForgeries: [string, () => string][] = [
      ['a refresh token signed with the access key, under the refresh kid', () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['a refresh token signed with the access key, under the access kid', () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: derivedKeyId(TEST_ENV.JWT_SECRET!) }, refreshClaims(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_SECRET! })],
      ['a refresh token typed "at+jwt", signed with the refresh key', () =>
        forgeJwt({ alg: 'HS256', typ: 'at+jwt', kid: refreshKid() }, refreshClaims(t), { alg: 'HS256', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
      ["a refresh token with the access tokens' audience", () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t, { aud: 'api' }), { alg: 'HS256', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
      ['a refresh token living longer than REFRESH_TOKEN_TTL', () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t, { exp: t.nowSec() + 604801 }), { alg: 'HS256', hmacKey: TEST_ENV.JWT_REFRESH_SECRET! })],
      ['a refresh token with alg "none"', () =>
        forgeJwt({ alg: 'none', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t), { signature: '' })],
      ['a refresh token signed with a weak secret', () =>
        forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t), { alg: 'HS256', hmacKey: 'secret' })],
    ];

    it.each(refreshForgeries)('refuses %s, issuing nothing', async (_what, forge) => {
      await expectRefreshTokenRefused(t, forge());
    });

    it('refuses a refresh token made with the real refresh key for a session that does not exist, and lets it end nothing', async () => {
      const token = forgeJwt({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid() }, refreshClaims(t, { sid: 'no-such-session' }), {
        alg: 'HS256',
        hmacKey: TEST_ENV.JWT_REFRESH_SECRET!,
      });
      await expectRefreshTokenEnded(t, token);
      await expectVictimUntouched(t);
    });

    it('answers {"active": false} for a refresh token at /introspect', async () => {
      expect((await introspect(t, t.victim.tokens.refresh_token)).body).toEqual({ active: false });
    });
  });

  describe('replays after rotation', () => {
    it('ends the whole session when a rotated-out refresh token comes back after the grace window: every token of it dies', async () => {
      const own = await targetOn(backend, recorder);
      const first = own.victim.tokens;
      const second = (await refresh(own, first.refresh_token)).body as TokenResponseBody;
      own.clock.advanceSeconds(11);

      const replay = await refresh(own, first.refresh_token);
      expect({ status: replay.status, error: replay.body.error }).toEqual({ status: 401, error: 'invalid_grant' });
      await expectRefreshTokenEnded(own, second.refresh_token);
      await expectAccessTokenRevoked(own, second.access_token);
      await expectAccessTokenRevoked(own, first.access_token);
    });

    it('lets a thief who replays a stolen refresh token after the victim rotated it end the session, never use it', async () => {
      const own = await targetOn(backend, recorder);
      const stolen = own.victim.tokens.refresh_token;
      const victimNow = (await refresh(own, stolen)).body as TokenResponseBody;
      own.clock.advanceSeconds(30);

      const thief = await refresh(own, stolen);
      expect({ status: thief.status, issued: 'access_token' in thief.body }).toEqual({ status: 401, issued: false });
      await expectAccessTokenRevoked(own, victimNow.access_token);
      const victimRefresh = await refresh(own, victimNow.refresh_token);
      expect(victimRefresh.status).toBe(401);
    });

    it('treats an old refresh token at /logout as a replay: ends its session only, even with scope global', async () => {
      const own = await targetOn(backend, recorder);
      const other = await newSession(own);
      const first = own.victim.tokens;
      const second = (await refresh(own, first.refresh_token)).body as TokenResponseBody;
      own.clock.advanceSeconds(11);

      expect((await logout(own, { refresh_token: first.refresh_token, scope: 'global' })).status).toBe(204);
      await expectAccessTokenRevoked(own, second.access_token);
      expect((await request(own.http).get('/profile').set('Authorization', `Bearer ${other.access_token}`)).status).toBe(200);
    });

    it('refuses a refresh token past the absolute session lifetime, however often it was rotated', async () => {
      const own = await targetOn(backend, recorder);
      let tokens = own.victim.tokens;
      for (let day = 0; day < 6; day += 1) {
        own.clock.advanceSeconds(86400);
        tokens = (await refresh(own, tokens.refresh_token)).body as TokenResponseBody;
      }
      expect(tokens.refresh_expires_in).toBe(86400);
      own.clock.advanceSeconds(86400);
      await expectRefreshTokenEnded(own, tokens.refresh_token);
    });
  });

  describe('racing refreshes', () => {
    it('gives eight parallel refreshes of one token the same successor, and keeps one session', async () => {
      const own = await targetOn(backend, recorder);
      const results = await Promise.all(Array.from({ length: 8 }, () => refresh(own, own.victim.tokens.refresh_token)));

      expect(results.map((res) => res.status)).toEqual(Array(8).fill(200));
      expect(new Set(results.map((res) => res.body.refresh_token)).size).toBe(1);
      expect(new Set(results.map((res) => decodeJwt(res.body.access_token).payload.sid)).size).toBe(1);
      expect(await own.stores.sessions.listByUser(own.victim.tokens.user.id)).toHaveLength(1);
    });

    it('refuses all eight parallel refreshes of a stale token, and the replay ends the session', async () => {
      const own = await targetOn(backend, recorder);
      const stale = own.victim.tokens.refresh_token;
      const current = (await refresh(own, stale)).body as TokenResponseBody;
      own.clock.advanceSeconds(11);

      const results = await Promise.all(Array.from({ length: 8 }, () => refresh(own, stale)));
      expect(results.map((res) => res.status)).toEqual(Array(8).fill(401));
      await expectRefreshTokenEnded(own, current.refresh_token);
      await expectAccessTokenRevoked(own, current.access_token);
    });

    it('lets a late refresh with the rotated-out predecessor, inside the grace window, and then its successor both succeed without losing the session', async () => {
      const own = await targetOn(backend, recorder);
      const next = (await refresh(own, own.victim.tokens.refresh_token)).body as TokenResponseBody;
      // In this order: were the successor rotated first, the predecessor would be two rotations old,
      // a replay by design (only the token just rotated out has the grace), so a true race of the two
      // may end the session; the tab that was late comes first here.
      const late = await refresh(own, own.victim.tokens.refresh_token);
      const fresh = await refresh(own, next.refresh_token);
      expect([late.status, fresh.status]).toEqual([200, 200]);
      expect((await request(own.http).get('/profile').set('Authorization', `Bearer ${fresh.body.access_token}`)).status).toBe(200);
    });
  });

  describe('tokens of ended sessions', () => {
    it('refuses both tokens after logout, and logging out again changes nothing', async () => {
      const session = await newSession();
      expect((await logout(t, { refresh_token: session.refresh_token })).status).toBe(204);
      await expectAccessTokenRevoked(t, session.access_token);
      await expectRefreshTokenEnded(t, session.refresh_token);
      expect((await logout(t, { refresh_token: session.refresh_token })).status).toBe(204);
      await expectAccessTokenRevoked(t, session.access_token);
    });

    it('refuses the tokens of a session ended through DELETE /sessions/:id from another session', async () => {
      const doomed = await newSession();
      const sid = decodeJwt(doomed.access_token).payload.sid as string;
      const ended = await request(t.http).delete(`/sessions/${sid}`).set('Authorization', `Bearer ${t.victim.tokens.access_token}`);
      expect(ended.status).toBe(204);
      await expectAccessTokenRevoked(t, doomed.access_token);
      await expectRefreshTokenEnded(t, doomed.refresh_token);
    });

    it('refuses the tokens of sessions ended by logout scope "others" and "global" elsewhere', async () => {
      const own = await targetOn(backend, recorder);
      const a = await newSession(own);
      const b = await newSession(own);
      expect((await logout(own, { scope: 'others' }, a.access_token)).status).toBe(204);
      for (const ended of [own.victim.tokens, b]) {
        await expectAccessTokenRevoked(own, ended.access_token);
        await expectRefreshTokenEnded(own, ended.refresh_token);
      }
      expect((await request(own.http).get('/profile').set('Authorization', `Bearer ${a.access_token}`)).status).toBe(200);

      const c = await newSession(own);
      expect((await logout(own, { scope: 'global' }, c.access_token)).status).toBe(204);
      for (const ended of [a, c]) await expectAccessTokenRevoked(own, ended.access_token);
    });

    it('lets the tokens of an ended session end nothing else, in any scope', async () => {
      const own = await targetOn(backend, recorder);
      const ended = await newSession(own);
      expect((await logout(own, { refresh_token: ended.refresh_token })).status).toBe(204);
      for (const scope of ['others', 'global']) {
        expect((await logout(own, { scope }, ended.access_token)).status).toBe(204);
        expect((await logout(own, { refresh_token: ended.refresh_token, scope })).status).toBe(204);
      }
      await expectVictimUntouched(own);
    });
  });

  describe("another user's sessions", () => {
    it("cannot end a victim's session with the attacker's own token, and cannot pair its token with the victim's refresh token", async () => {
      const attacker = await registerAndLogin(t.http);
      const victimSid = t.claims.sid as string;
      const deleted = await request(t.http).delete(`/sessions/${victimSid}`).set('Authorization', `Bearer ${attacker.tokens.access_token}`);
      expect({ status: deleted.status, error: deleted.body.error }).toEqual({ status: 404, error: 'not_found' });

      const paired = await logout(t, { refresh_token: t.victim.tokens.refresh_token, scope: 'global' }, attacker.tokens.access_token);
      expect({ status: paired.status, error: paired.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      const listed = await request(t.http).get('/sessions').set('Authorization', `Bearer ${attacker.tokens.access_token}`);
      expect(listed.body.sessions.map((session: { id: string }) => session.id)).not.toContain(victimSid);
      await expectVictimUntouched(t);
    });
  });

  describe('the refresh cookie', () => {
    async function cookieSession(on: Target): Promise<{ tokens: TokenResponseBody; cookie: string }> {
      const res = await request(on.http).post('/login').set('X-Token-Mode', 'cookie').send({ email: on.victim.email, password: on.victim.password });
      const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
      return { tokens: res.body as TokenResponseBody, cookie };
    }

    it('is ignored without X-Token-Mode (a cross-site form or image): no refresh, no logout, the cookie not used up', async () => {
      const own = await targetOn(backend, recorder);
      // A second later, so that "oldest first" (listByUser) puts the victim's first session first on
      // every backend: in the same millisecond PostgreSQL and Redis may list the two either way.
      own.clock.advanceSeconds(1);
      const { tokens, cookie } = await cookieSession(own);
      const refreshed = await request(own.http).post('/refresh').set('Cookie', cookie);
      expect({ status: refreshed.status, error: refreshed.body.error }).toEqual({ status: 401, error: 'invalid_grant' });
      const loggedOut = await request(own.http).post('/logout').set('Cookie', cookie);
      expect({ status: loggedOut.status, error: loggedOut.body.error }).toEqual({ status: 401, error: 'unauthorized' });
      const asForm = await request(own.http).post('/logout').set('Cookie', cookie).set('Content-Type', 'application/x-www-form-urlencoded').send('scope=global');
      expect(asForm.status).toBe(415);
      expect((await request(own.http).get('/profile').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      await expectVictimUntouched(own, 1);
      const real = await request(own.http).post('/refresh').set('X-Token-Mode', 'cookie').set('Cookie', cookie);
      expect(real.status).toBe(200);
    });

    it("refuses a request carrying a planted cookie beside the victim's own, in either order (cookie tossing): no switch into the attacker's session", async () => {
      const own = await targetOn(backend, recorder);
      const attacker = await registerAndLogin(own.http);
      const mine = await request(own.http).post('/login').set('X-Token-Mode', 'cookie').send({ email: attacker.email, password: attacker.password });
      const tossed = (mine.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
      expect(tossed).toMatch(/^__Host-refresh_token=/);
      const { tokens, cookie } = await cookieSession(own);
      for (const pair of [`${tossed}; ${cookie}`, `${cookie}; ${tossed}`]) {
        for (const route of ['/refresh', '/logout']) {
          const res = await request(own.http).post(route).set('X-Token-Mode', 'cookie').set('Cookie', pair);
          expect({ status: res.status, body: res.body, cookie: res.headers['set-cookie'] }).toEqual({
            status: 401,
            body: { error: 'invalid_grant', error_description: 'The request carries more than one refresh cookie.' },
            cookie: undefined,
          });
        }
      }
      // Neither session was used up or ended: each cookie alone still works for its own user.
      expect((await request(own.http).get('/profile').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      const victim = await request(own.http).post('/refresh').set('X-Token-Mode', 'cookie').set('Cookie', cookie);
      expect({ status: victim.status, user: victim.body.user?.email }).toEqual({ status: 200, user: own.victim.email });
      const planted = await request(own.http).post('/refresh').set('X-Token-Mode', 'cookie').set('Cookie', tossed);
      expect({ status: planted.status, user: planted.body.user?.email }).toEqual({ status: 200, user: attacker.email });
    });
  });

  describe('after every attack', () => {
    it("the shared victim's first session is untouched and their token still works", async () => {
      await expectVictimUntouched(t);
    });
  });

  auditResponses(recorder, { atLeast: 100 });
}, { pglite: 'never' });
