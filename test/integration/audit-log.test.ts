// The audit log on every storage backend: what each route records (actor, address, User-Agent, details), and GET /admin/audit's filters and paging.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { totpCode } from '../../src/auth/totp';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { adminAndLogin, bearer, expectError, login, PASSWORD, register, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { describeEachBackend } from '../helpers/store-backends';
import { loggedMail } from '../security/mail-log';

interface AuditEventJson {
  id: string;
  at: string;
  type: string;
  user_id: string | null;
  actor_id: string | null;
  ip: string;
  user_agent: string;
  details: Record<string, unknown>;
}

describeEachBackend(
  'audit log',
  (backend) => {
    let clock: FakeClock;
    let app: AuthApp;
    let logs: string[];
    let admin: Awaited<ReturnType<typeof adminAndLogin>>;

    beforeEach(async () => {
      clock = new FakeClock();
      ({ app, logs } = buildTestApp({ clock, stores: await backend.open(clock), env: { LOGIN_RATE_LIMIT_MAX: '3' } }));
      admin = await adminAndLogin(app);
    });
    afterEach(async () => {
      await app.services.background.idle();
      await app.services.mailer.close();
    });

    /** Every event of the user, newest first, once what the requests started in the background has been recorded. */
    async function eventsOf(userId: string, query = ''): Promise<AuditEventJson[]> {
      await app.services.background.idle();
      const res = await request(app).get(`/admin/audit?limit=200&user_id=${userId}${query}`).set(...bearer(admin.tokens.access_token));
      expect(res.status).toBe(200);
      return res.body.events as AuditEventJson[];
    }

    it('records a user\'s whole lifecycle with who, from where and with what, never a password, token or code', async () => {
      const email = uniqueEmail('audited');
      const agent = 'audit-test/1.0';
      const reg = await request(app).post('/register').set('User-Agent', agent).send({ email, password: PASSWORD });
      const userId = reg.body.user.id as string;
      // The verification mail goes out after the answer.
      await app.services.background.idle();
      const verification = loggedMail(logs).find((mail) => mail.to === email && mail.kind === 'verification')!;
      expect((await request(app).post('/email/verify').send({ token: verification.token })).status).toBe(200);
      expectError(await request(app).post('/login').set('User-Agent', agent).send({ email, password: 'not the password' }), 401, 'invalid_credentials');
      const tokens = await login(app, email, PASSWORD, agent);
      clock.advanceSeconds(1);
      const refreshed = await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token });
      clock.advanceSeconds(11);
      expectError(await request(app).post('/refresh').set('User-Agent', 'thief/9.9').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
      const second = await login(app, email, PASSWORD, agent);
      const changed = await request(app).post('/password/change').set(...bearer(second.access_token)).send({ current_password: PASSWORD, new_password: 'a brand new passphrase 42' });
      expect(changed.status).toBe(200);
      const before = logs.length;
      expect((await request(app).post('/password/forgot').send({ email })).status).toBe(202);
      await app.services.background.idle();
      const reset = loggedMail(logs, before).find((mail) => mail.kind === 'reset')!;
      expect((await request(app).post('/password/reset').send({ token: reset.token, new_password: 'another brand new passphrase' })).status).toBe(204);
      const last = await login(app, email, 'another brand new passphrase', agent);
      expect((await request(app).post('/logout').set(...bearer(last.access_token)).send({})).status).toBe(204);

      const events = await eventsOf(userId);
      expect(events.map((event) => event.type).reverse()).toEqual([
        'user.registered',
        'email.verified',
        'login.failed',
        'login.succeeded',
        'refresh.reuse_detected',
        'login.succeeded',
        'password.changed',
        'password.reset_requested',
        'password.reset',
        'login.succeeded',
        'logout',
      ]);
      const byType = (type: string) => events.find((event) => event.type === type)!;
      expect(byType('user.registered')).toMatchObject({ user_id: userId, actor_id: userId, user_agent: agent, ip: expect.stringMatching(/127\.0\.0\.1/) });
      expect(byType('login.failed')).toMatchObject({ user_id: userId, details: { reason: 'invalid_credentials' } });
      // The replay's own address and User-Agent: the likely thief's, not the owner's.
      expect(byType('refresh.reuse_detected')).toMatchObject({ user_id: userId, actor_id: null, user_agent: 'thief/9.9', details: { session_id: expect.any(String) } });
      expect(byType('logout').details).toMatchObject({ scope: 'local' });
      for (const event of events) {
        expect(event.id).toEqual(expect.any(String));
        expect(Number.isNaN(Date.parse(event.at))).toBe(false);
      }
      const text = JSON.stringify(events);
      for (const secret of [PASSWORD, 'not the password', 'a brand new passphrase 42', tokens.access_token, tokens.refresh_token, refreshed.body.refresh_token, verification.token, reset.token]) {
        expect(text).not.toContain(secret);
      }
    });

    it('records a failed login for an unknown address without the address, and the lock-out after the limit', async () => {
      const ghost = uniqueEmail('ghost');
      expectError(await request(app).post('/login').send({ email: ghost, password: 'not the password' }), 401, 'invalid_credentials');
      const { email, user } = await register(app);
      for (let i = 0; i < 3; i += 1) await request(app).post('/login').send({ email, password: 'not the password' });
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 429, 'rate_limited');
      expect((await eventsOf(user.id, '&type=login.rate_limited')).map((event) => event.details)).toEqual([{ reason: 'rate_limited' }]);
      await app.services.background.idle();
      const failures = (await request(app).get('/admin/audit?type=login.failed&limit=200').set(...bearer(admin.tokens.access_token))).body.events as AuditEventJson[];
      expect(failures.filter((event) => event.user_id === null)).toHaveLength(1);
      expect(JSON.stringify(failures)).not.toContain(ghost);
    });

    it("records admins' actions with the admin as the actor", async () => {
      const created = await request(app).post('/admin/users').set(...bearer(admin.tokens.access_token)).send({ email: uniqueEmail('made'), password: PASSWORD });
      const id = created.body.user.id as string;
      await request(app).patch(`/admin/users/${id}`).set(...bearer(admin.tokens.access_token)).send({ disabled: true, email_verified: true });
      await request(app).patch(`/admin/users/${id}`).set(...bearer(admin.tokens.access_token)).send({ disabled: false });
      await request(app).delete(`/admin/users/${id}/sessions`).set(...bearer(admin.tokens.access_token));
      await request(app).delete(`/admin/users/${id}`).set(...bearer(admin.tokens.access_token));
      const events = (await eventsOf(id)).reverse();
      expect(events.map((event) => [event.type, event.details])).toEqual([
        ['user.created', { role: 'user', invited: false }],
        ['user.updated', { fields: 'disabled,email_verified', role: 'user' }],
        ['user.disabled', {}],
        ['user.updated', { fields: 'disabled', role: 'user' }],
        ['user.enabled', {}],
        ['session.ended', { all: true }],
        ['user.deleted', { by: 'admin' }],
      ]);
      for (const event of events) expect(event.actor_id).toBe(admin.tokens.user.id);
    });

    it('records the second factor: enabled, a wrong code at sign-in, disabled', async () => {
      const { email, tokens, user } = await registerAndLogin(app);
      const enrol = await request(app).post('/mfa/totp').set(...bearer(tokens.access_token));
      await request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(enrol.body.secret, clock.now()) });
      const challenge = await request(app).post('/login').send({ email, password: PASSWORD });
      expectError(await request(app).post('/login/mfa').send({ mfa_token: challenge.body.mfa_token, code: '000000' === totpCode(enrol.body.secret, clock.now()) ? '111111' : '000000' }), 401, 'invalid_mfa_code');
      clock.advanceSeconds(30);
      const signedIn = await request(app).post('/login/mfa').send({ mfa_token: challenge.body.mfa_token, code: totpCode(enrol.body.secret, clock.now()) });
      expect(signedIn.status).toBe(200);
      clock.advanceSeconds(30);
      expect((await request(app).delete('/mfa/totp').set(...bearer(signedIn.body.access_token)).send({ code: totpCode(enrol.body.secret, clock.now()) })).status).toBe(204);
      const types = (await eventsOf(user.id)).map((event) => event.type).reverse();
      expect(types.slice(2)).toEqual(['mfa.enabled', 'mfa.failed', 'login.succeeded', 'mfa.disabled']);
      expect((await eventsOf(user.id, '&type=login.succeeded'))[0]!.details).toEqual({ amr: 'pwd otp' });
    });

    it('filters by type and time, pages newest first with a cursor, and refuses bad queries with 400', async () => {
      const { user } = await register(app);
      const marks: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        clock.advanceSeconds(60);
        marks.push(clock.now());
        await request(app).post('/login').send({ email: user.email, password: `wrong password ${i}` });
      }
      await app.services.background.idle();
      const since = new Date(marks[1]!).toISOString();
      const until = new Date(marks[3]!).toISOString();
      const window = await eventsOf(user.id, `&type=login.failed&since=${since}&until=${until}`);
      expect(window.map((event) => Date.parse(event.at))).toEqual([marks[2], marks[1]]);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(app).get(`/admin/audit?user_id=${user.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).set(...bearer(admin.tokens.access_token));
        seen.push(...res.body.events.map((event: AuditEventJson) => event.id));
        cursor = res.body.next_cursor;
      } while (cursor !== null);
      expect(seen).toEqual((await eventsOf(user.id)).map((event) => event.id));
      expect(new Set(seen).size).toBe(5);

      for (const query of ['type=login.exploded', 'since=yesterday', 'since=2026-12-01T00:00:00', 'limit=0', 'cursor=%%%', 'user=abc']) {
        expectError(await request(app).get(`/admin/audit?${query}`).set(...bearer(admin.tokens.access_token)), 400, 'invalid_request');
      }
      expectError(await request(app).get('/admin/audit').set(...bearer((await login(app, user.email, PASSWORD).catch(() => null))?.access_token ?? 'x')), 401, 'invalid_token');
    });
  },
  { pglite: 'without-postgres' },
);
