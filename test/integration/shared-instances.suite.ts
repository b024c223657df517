// Two app instances on one shared storage, in one process: shared sessions, revocation, rate limits, and outages over HTTP. Run per backend.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { totpCode } from '../../src/auth/totp';
import type { Stores } from '../../src/stores/types';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { adminAndLogin, bearer, decodeJwt, expectError, login, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { eventually } from '../helpers/eventually';
import { TcpProxy } from '../helpers/tcp-proxy';

const REVOKED = 'Bearer realm="auth", error="invalid_token", error_description="token revoked"';

/** Stores whose revocation check keeps a local copy of ended sessions, current over a feed. */
export type SharedStores = Stores & { revocations: { readonly isCurrent: boolean; has(sessionId: string): boolean } };

export interface SharedBackend {
  /** As the suites name it: "Redis", "PostgreSQL". */
  name: string;
  /** Where the storage answers; a TcpProxy in front of it plays outages. */
  url: string;
  /** Opens an instance's stores at `url` (the storage itself, or a proxy's address), current and ready. */
  open(url: string, clock: FakeClock): Promise<SharedStores>;
  /** Removes what the suite wrote, and only that. */
  cleanup(): Promise<void>;
}

export function runSharedInstancesSuite(backend: SharedBackend): void {
  describe(`instances sharing ${backend.name}`, () => {
    const opened: SharedStores[] = [];
    const proxies: TcpProxy[] = [];

    afterEach(async () => {
      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
      await Promise.all(opened.splice(0).map((stores) => stores.close()));
    });

    afterAll(() => backend.cleanup());

    /** An app instance on the shared storage (through `link` when given), on a clock shared with its peers. */
    async function instance(clock: FakeClock, env: Record<string, string> = {}, link?: TcpProxy) {
      const stores = await backend.open(link ? link.urlFor(backend.url) : backend.url, clock);
      opened.push(stores);
      return { ...buildTestApp({ env, clock, stores }), stores };
    }

    async function proxy(): Promise<TcpProxy> {
      const started = await TcpProxy.start(backend.url);
      proxies.push(started);
      return started;
    }

    function profile(app: AuthApp, accessToken: string) {
      return request(app).get('/profile').set(...bearer(accessToken));
    }

    function sessionId(accessToken: string): string {
      return String(decodeJwt(accessToken).payload.sid);
    }

    function expectUnavailable(res: request.Response) {
      expectError(res, 503, 'unavailable');
      expect(res.body.error_description).toBe('A backing store is unreachable.');
    }

    it('register on A, login on B, refresh on A, logout on B: the access token is then rejected on A', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const { email, user } = await register(a.app);
      const first = await login(b.app, email);

      const refreshed = await request(a.app).post('/refresh').send({ refresh_token: first.refresh_token });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.user).toEqual(user);
      const tokens = refreshed.body as { access_token: string; refresh_token: string };
      expect((await profile(b.app, tokens.access_token)).body).toEqual({ user });
      expect((await profile(a.app, tokens.access_token)).status).toBe(200);

      const out = await request(b.app).post('/logout').set(...bearer(tokens.access_token)).send({});
      expect(out.status).toBe(204);
      expect(b.stores.revocations.has(sessionId(tokens.access_token))).toBe(true);
      await eventually(() => a.stores.revocations.has(sessionId(tokens.access_token)));

      const rejected = await profile(a.app, tokens.access_token);
      expectError(rejected, 401, 'invalid_token');
      expect(rejected.headers['www-authenticate']).toBe(REVOKED);
      expectError(await request(a.app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
    });

    it('an admin disabling a user on A: the user\'s access token fails on B at once, and the login on B is 403 account_disabled', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const admin = await adminAndLogin(a.app);
      const { email, user } = await register(a.app);
      const tokens = await login(b.app, email);
      expect((await profile(b.app, tokens.access_token)).status).toBe(200);
      const disabled = await request(a.app).patch(`/admin/users/${user.id}`).set(...bearer(admin.tokens.access_token)).send({ disabled: true });
      expect(disabled.status).toBe(200);
      await eventually(() => b.stores.revocations.has(sessionId(tokens.access_token)));
      expect((await profile(b.app, tokens.access_token)).headers['www-authenticate']).toBe(REVOKED);
      expectError(await request(b.app).post('/login').send({ email, password: PASSWORD }), 403, 'account_disabled');
    });

    it('a password change on A ends the other sessions on B, and only the new password logs in on B', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const { email } = await register(a.app);
      const onB = await login(b.app, email);
      const onA = await login(a.app, email);
      const changed = await request(a.app).post('/password/change').set(...bearer(onA.access_token)).send({ current_password: PASSWORD, new_password: 'a brand new passphrase 42' });
      expect(changed.status).toBe(200);
      await eventually(() => b.stores.revocations.has(sessionId(onB.access_token)));
      expectError(await profile(b.app, onB.access_token), 401, 'invalid_token');
      expect((await profile(b.app, changed.body.access_token)).status).toBe(200);
      expectError(await request(b.app).post('/login').send({ email, password: PASSWORD }), 401, 'invalid_credentials');
      expect((await request(b.app).post('/login').send({ email, password: 'a brand new passphrase 42' })).status).toBe(200);
    });

    it('shares the failed-login limit: 3 failures spread over A and B make the next attempt on either a 429', async () => {
      const clock = new FakeClock();
      const env = { LOGIN_RATE_LIMIT_MAX: '3' };
      const [a, b] = [await instance(clock, env), await instance(clock, env)];
      const { email } = await register(a.app);
      for (const app of [a.app, b.app, a.app]) {
        expectError(await request(app).post('/login').send({ email, password: 'wrong password!' }), 401, 'invalid_credentials');
      }
      for (const app of [b.app, a.app]) {
        const res = await request(app).post('/login').send({ email, password: PASSWORD });
        expectError(res, 429, 'rate_limited');
        expect(res.headers['ratelimit-policy']).toContain('"login"; q=3; w=900');
        expect(Number(res.headers['retry-after'])).toBe(900);
      }
      clock.advanceSeconds(900);
      expect((await request(b.app).post('/login').send({ email, password: PASSWORD })).status).toBe(200);
    });

    it('answers two tabs refreshing at once on different instances with one successor', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const { email } = await register(a.app);
      const { refresh_token: token } = await login(a.app, email);

      const results = await Promise.all(
        [a, b, a, b, a, b].map(({ app }) => request(app).post('/refresh').send({ refresh_token: token })),
      );
      expect(results.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const successors = new Set(results.map((res) => res.body.refresh_token as string));
      expect(successors.size).toBe(1);
      const [successor] = [...successors];
      expect(successor).not.toBe(token);
      expect((await request(b.app).post('/refresh').send({ refresh_token: successor })).status).toBe(200);
    });

    describe('the second factor', () => {
      /** One MFA_ENCRYPTION_KEY for both instances (32 random bytes in base64): each must open the secrets the other sealed. */
      const MFA = { MFA_ENCRYPTION_KEY: 'Jq3vT8yW1nR6kP0sX4mB9cL2dF7gH5zA1eU3iO8tY6w=', LOGIN_RATE_LIMIT_MAX: '100' };

      /** A user who enrolled and confirmed TOTP on `on` at the shared clock: the email, the secret and the recovery codes. */
      async function enrolledOn(on: AuthApp, clock: FakeClock) {
        const { email } = await register(on);
        const { access_token: access } = await login(on, email);
        const start = await request(on).post('/mfa/totp').set(...bearer(access));
        expect(start.status).toBe(200);
        const secret = start.body.secret as string;
        const confirm = await request(on).post('/mfa/totp/confirm').set(...bearer(access)).send({ code: totpCode(secret, clock.now()) });
        expect(confirm.status).toBe(200);
        return { email, secret, recoveryCodes: confirm.body.recovery_codes as string[] };
      }

      async function mfaToken(on: AuthApp, email: string): Promise<string> {
        const res = await request(on).post('/login').send({ email, password: PASSWORD });
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 403, error: 'mfa_required' });
        return res.body.mfa_token as string;
      }

      it('a TOTP code accepted on A is refused on B', async () => {
        const clock = new FakeClock();
        const [a, b] = [await instance(clock, MFA), await instance(clock, MFA)];
        const { email, secret } = await enrolledOn(a.app, clock);
        clock.advanceSeconds(30);
        const code = totpCode(secret, clock.now());
        const first = await request(a.app).post('/login/mfa').send({ mfa_token: await mfaToken(a.app, email), code });
        expect(first.status).toBe(200);
        // A second sign-in, begun on B, with the same code within the same step.
        const second = await request(b.app).post('/login/mfa').send({ mfa_token: await mfaToken(b.app, email), code });
        expectError(second, 401, 'invalid_mfa_code');
        expect(second.body.access_token).toBeUndefined();
        // The step after it is good on B: only the used one was refused.
        clock.advanceSeconds(30);
        expect((await request(b.app).post('/login/mfa').send({ mfa_token: await mfaToken(b.app, email), code: totpCode(secret, clock.now()) })).status).toBe(200);
      });

      it('a recovery code used on A is refused on B', async () => {
        const clock = new FakeClock();
        const [a, b] = [await instance(clock, MFA), await instance(clock, MFA)];
        const { email, recoveryCodes } = await enrolledOn(b.app, clock);
        const [code] = recoveryCodes as [string];
        expect((await request(a.app).post('/login/mfa').send({ mfa_token: await mfaToken(a.app, email), code })).status).toBe(200);
        const again = await request(b.app).post('/login/mfa').send({ mfa_token: await mfaToken(b.app, email), code: code.toLowerCase() });
        expectError(again, 401, 'invalid_mfa_code');
        expect(again.body.access_token).toBeUndefined();
      });

      it('an mfa_token used on A is refused on B (401 invalid_grant)', async () => {
        const clock = new FakeClock();
        const [a, b] = [await instance(clock, MFA), await instance(clock, MFA)];
        const { email, secret } = await enrolledOn(a.app, clock);
        const token = await mfaToken(a.app, email);
        clock.advanceSeconds(30);
        expect((await request(a.app).post('/login/mfa').send({ mfa_token: token, code: totpCode(secret, clock.now()) })).status).toBe(200);
        clock.advanceSeconds(30);
        expectError(await request(b.app).post('/login/mfa').send({ mfa_token: token, code: totpCode(secret, clock.now()) }), 401, 'invalid_grant');
      });

      it('one code raced on A and B at once signs in once', async () => {
        const clock = new FakeClock();
        const [a, b] = [await instance(clock, MFA), await instance(clock, MFA)];
        const { email, secret } = await enrolledOn(a.app, clock);
        clock.advanceSeconds(30);
        const code = totpCode(secret, clock.now());
        const tokens = [await mfaToken(a.app, email), await mfaToken(b.app, email), await mfaToken(a.app, email), await mfaToken(b.app, email)];
        const answers = await Promise.all(tokens.map((token, i) => request((i % 2 ? b : a).app).post('/login/mfa').send({ mfa_token: token, code })));
        expect(answers.map((res) => res.status).sort()).toEqual([200, 401, 401, 401]);
      });
    });

    describe(`while ${backend.name} is unreachable`, () => {
      it('answers /ready, login, register, refresh and protected routes with a 503 JSON, and recovers by itself', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const a = await instance(clock, {}, link);
        const { email } = await register(a.app);
        const tokens = await login(a.app, email);

        link.set('down');
        await eventually(() => !a.stores.revocations.isCurrent);
        expectUnavailable(await request(a.app).get('/ready'));
        expectUnavailable(await request(a.app).post('/login').send({ email, password: PASSWORD }));
        expectUnavailable(await request(a.app).post('/register').send({ email: uniqueEmail(), password: PASSWORD }));
        expectUnavailable(await request(a.app).post('/refresh').send({ refresh_token: tokens.refresh_token }));
        expectUnavailable(await profile(a.app, tokens.access_token));
        expect((await request(a.app).get('/health')).status).toBe(200);

        link.set('up');
        await eventually(async () => (await request(a.app).get('/ready')).status === 200, 10_000);
        expect((await request(a.app).get('/ready')).body).toEqual({ status: 'ready' });
        expect((await profile(a.app, tokens.access_token)).status).toBe(200);
        expect((await request(a.app).post('/refresh').send({ refresh_token: tokens.refresh_token })).status).toBe(200);
      });

      it('still rejects a token whose session ended before the outage, with 401 token revoked', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const [a, b] = [await instance(clock), await instance(clock, {}, link)];
        const { email } = await register(a.app);
        const tokens = await login(a.app, email);
        expect((await request(a.app).post('/logout').set(...bearer(tokens.access_token)).send({})).status).toBe(204);
        await eventually(() => b.stores.revocations.has(sessionId(tokens.access_token)));

        link.set('down');
        await eventually(() => !b.stores.revocations.isCurrent);
        const res = await profile(b.app, tokens.access_token);
        expectError(res, 401, 'invalid_token');
        expect(res.headers['www-authenticate']).toBe(REVOKED);
      });

      it(`answers a 503, not a hang, when ${backend.name} stops answering without closing the connection`, async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const a = await instance(clock, {}, link);
        const { email } = await register(a.app);
        const tokens = await login(a.app, email);

        link.set('frozen');
        // supertest's timeout bounds the wait: a hang fails the test instead of stalling it.
        expectUnavailable(await request(a.app).post('/login').send({ email, password: PASSWORD }).timeout(5000));
        expectUnavailable(await request(a.app).get('/ready').timeout(5000));
        // GET /profile needs no round trip while the local copies are current (sessions ended, users
        // read); once the silent link drops the feed, it asks the storage for the session, and 503s.
        await eventually(() => !a.stores.revocations.isCurrent, 5000);
        expectUnavailable(await profile(a.app, tokens.access_token).timeout(5000));
      });
    });
  });
}
