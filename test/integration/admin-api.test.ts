// The admin API on every storage backend: paging users, creating, disabling, demoting and deleting them, ending their sessions, removing factors, and never the last admin.
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import type { Stores } from '../../src/stores/types';
import { totpCode } from '../../src/auth/totp';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { adminAndLogin, bearer, expectError, login, PASSWORD, register, registerAndLogin, uniqueEmail } from '../helpers/fixtures';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { describeEachBackend } from '../helpers/store-backends';

describeEachBackend(
  'admin API',
  (backend) => {
    let smtp: SmtpTestServer;
    let clock: FakeClock;
    let app: AuthApp;
    let stores: Stores;
    let admin: Awaited<ReturnType<typeof adminAndLogin>>;

    beforeAll(async () => {
      smtp = await startSmtpServer();
    });
    afterAll(() => smtp.close());

    beforeEach(async () => {
      clock = new FakeClock();
      stores = await backend.open(clock);
      app = buildTestApp({ clock, stores, env: { SMTP_URL: smtp.url, APP_URL: 'https://app.example.test' } }).app;
      admin = await adminAndLogin(app);
    });
    afterEach(async () => {
      await app.services.background.idle();
      await app.services.mailer.close();
    });

    const as = (token: string) => ({
      get: (path: string) => request(app).get(path).set(...bearer(token)),
      post: (path: string, body: object) => request(app).post(path).set(...bearer(token)).send(body),
      patch: (path: string, body: object) => request(app).patch(path).set(...bearer(token)).send(body),
      delete: (path: string) => request(app).delete(path).set(...bearer(token)),
    });

    it('refuses every admin route to a user (403 insufficient_scope) and to no one (401)', async () => {
      const { tokens, user } = await registerAndLogin(app);
      for (const res of [
        await as(tokens.access_token).get('/admin/users'),
        await as(tokens.access_token).post('/admin/users', { email: uniqueEmail() }),
        await as(tokens.access_token).get(`/admin/users/${user.id}`),
        await as(tokens.access_token).patch(`/admin/users/${user.id}`, { role: 'admin' }),
        await as(tokens.access_token).delete(`/admin/users/${user.id}/sessions`),
      ]) {
        expectError(res, 403, 'insufficient_scope');
      }
      expect((await request(app).get('/admin/users')).status).toBe(401);
      // The user did not make themselves an admin.
      expect((await request(app).get('/profile').set(...bearer(tokens.access_token))).body.user.role).toBe('user');
    });

    it('pages users oldest first with a cursor that visits each exactly once while others are added', async () => {
      const mark = uniqueEmail('page').split('@')[0]!;
      const emails: string[] = [];
      // One millisecond apart: users created in the same millisecond are ordered by id instead.
      for (let i = 0; i < 5; i += 1) {
        clock.advance(1);
        emails.push((await register(app, `${mark}-${i}@example.com`)).email);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await as(admin.tokens.access_token).get(`/admin/users?limit=2&email=${mark}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.body.users.length).toBeLessThanOrEqual(2);
        for (const user of res.body.users) {
          expect(user).toEqual({
            id: expect.any(String),
            email: expect.any(String),
            role: 'user',
            created_at: expect.any(String),
            email_verified: false,
            mfa_enabled: false,
            disabled: false,
            last_login_at: null,
          });
        }
        seen.push(...res.body.users.map((user: { email: string }) => user.email));
        cursor = res.body.next_cursor;
        // A user added while paging comes after every page already read.
        if (pages === 0) {
          clock.advance(1);
          emails.push((await register(app, `${mark}-late@example.com`)).email);
        }
        pages += 1;
      } while (cursor !== null);
      expect(seen).toEqual(emails);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['cursor=not-a-cursor', null],
      ['colour=blue', 'colour'],
    ])('refuses the query %s with 400 invalid_request', async (query, field) => {
      const res = await as(admin.tokens.access_token).get(`/admin/users?${query}`);
      const error = expectError(res, 400, 'invalid_request');
      if (field) expect(error.details?.map((d) => d.path)).toContain(field);
    });

    it('creates a user with a password who can log in, and refuses a taken email', async () => {
      const email = uniqueEmail('made');
      const res = await as(admin.tokens.access_token).post('/admin/users', { email, password: PASSWORD, role: 'admin', email_verified: true });
      expect(res.status).toBe(201);
      expect(res.body.user).toMatchObject({ email, role: 'admin', email_verified: true, disabled: false, last_login_at: null });
      const tokens = await login(app, email);
      expect(tokens.user.role).toBe('admin');
      const detail = await as(admin.tokens.access_token).get(`/admin/users/${res.body.user.id}`);
      expect(detail.status).toBe(200);
      expect(detail.body.user.last_login_at).toEqual(expect.any(String));
      expect(detail.body.sessions).toHaveLength(1);
      expect(detail.body.sessions[0]).toMatchObject({ user_agent: 'jest', current: false });
      expectError(await as(admin.tokens.access_token).post('/admin/users', { email, password: PASSWORD }), 409, 'email_taken');
    });

    it('invites a user created without a password through a real reset mail', async () => {
      const email = uniqueEmail('invited');
      const invitation = smtp.nextMail(email, { subject: /reset/i });
      const res = await as(admin.tokens.access_token).post('/admin/users', { email });
      expect(res.status).toBe(201);
      const token = new URL(smtp.linkIn(await invitation)).searchParams.get('token')!;
      expect((await request(app).post('/password/reset').send({ token, new_password: 'my own chosen passphrase' })).status).toBe(204);
      expect((await login(app, email, 'my own chosen passphrase')).user).toMatchObject({ email, email_verified: true });
    });

    it('disables a user: every session ends at once, the right password is 403 account_disabled; enabling lets them back', async () => {
      const { email, tokens, user } = await registerAndLogin(app);
      const res = await as(admin.tokens.access_token).patch(`/admin/users/${user.id}`, { disabled: true });
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: user.id, disabled: true });
      expectError(await request(app).get('/profile').set(...bearer(tokens.access_token)), 401, 'invalid_token');
      expectError(await request(app).post('/refresh').send({ refresh_token: tokens.refresh_token }), 401, 'invalid_grant');
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 403, 'account_disabled');
      expectError(await request(app).post('/login').send({ email, password: 'not the password' }), 401, 'invalid_credentials');
      expect((await as(admin.tokens.access_token).patch(`/admin/users/${user.id}`, { disabled: false })).body.user.disabled).toBe(false);
      await login(app, email);
    });

    it('never demotes, disables or deletes the last active admin (409 last_admin), and does once another exists', async () => {
      const self = `/admin/users/${admin.tokens.user.id}`;
      expectError(await as(admin.tokens.access_token).patch(self, { role: 'user' }), 409, 'last_admin');
      expectError(await as(admin.tokens.access_token).patch(self, { disabled: true }), 409, 'last_admin');
      expectError(await as(admin.tokens.access_token).delete(self), 409, 'last_admin');
      // A disabled admin does not count.
      const other = await as(admin.tokens.access_token).post('/admin/users', { email: uniqueEmail('second'), password: PASSWORD, role: 'admin' });
      expect((await as(admin.tokens.access_token).patch(`/admin/users/${other.body.user.id}`, { disabled: true })).status).toBe(200);
      expectError(await as(admin.tokens.access_token).patch(self, { role: 'user' }), 409, 'last_admin');
      expect((await as(admin.tokens.access_token).patch(`/admin/users/${other.body.user.id}`, { disabled: false })).status).toBe(200);
      const demoted = await as(admin.tokens.access_token).patch(self, { role: 'user' });
      expect(demoted.status).toBe(200);
      expect(demoted.body.user.role).toBe('user');
      // Its tokens still say admin: demotion ends its sessions, so they stop at once.
      expectError(await as(admin.tokens.access_token).get('/admin/users'), 401, 'invalid_token');
      expect((await login(app, admin.email)).user.role).toBe('user');
    });

    it('leaves one admin when the last two demote each other at the same moment on two instances', async () => {
      // A second app on the same stores: another instance, with its own queue of role changes.
      const other = buildTestApp({ clock, stores }).app;
      const second = await as(admin.tokens.access_token).post('/admin/users', { email: uniqueEmail('peer'), password: PASSWORD, role: 'admin' });
      const peer = await login(app, second.body.user.email);
      const [one, two] = await Promise.all([
        request(app).patch(`/admin/users/${peer.user.id}`).set(...bearer(admin.tokens.access_token)).send({ role: 'user' }),
        request(other).patch(`/admin/users/${admin.tokens.user.id}`).set(...bearer(peer.access_token)).send({ role: 'user' }),
      ]);
      // One wins; the other finds its own token revoked (the winner demoted it: 401) or, had it taken
      // the lock first, no other admin to leave (409). Never both.
      expect([one, two].filter((res) => res.status === 200)).toHaveLength(1);
      expect([one, two].map((res) => res.status).sort()).toEqual([200, expect.any(Number)]);
      const page = await stores.users.listPage({ limit: 1000 });
      expect(page.users.filter((user) => user.role === 'admin' && !user.disabled).map((user) => user.id)).toHaveLength(1);
      await other.services.mailer.close();
    });

    it('deletes a user: their tokens fail, their email is free; an unknown id is 404', async () => {
      const { email, tokens, user } = await registerAndLogin(app);
      expect((await as(admin.tokens.access_token).delete(`/admin/users/${user.id}`)).status).toBe(204);
      expectError(await request(app).get('/sessions').set(...bearer(tokens.access_token)), 401, 'invalid_token');
      expect((await request(app).post('/register').send({ email, password: PASSWORD })).status).toBe(201);
      for (const res of [
        await as(admin.tokens.access_token).get(`/admin/users/${user.id}`),
        await as(admin.tokens.access_token).patch(`/admin/users/${user.id}`, { role: 'admin' }),
        await as(admin.tokens.access_token).delete(`/admin/users/${user.id}`),
        await as(admin.tokens.access_token).delete(`/admin/users/${user.id}/sessions`),
        await as(admin.tokens.access_token).delete(`/admin/users/${user.id}/mfa`),
      ]) {
        expectError(res, 404, 'not_found');
      }
    });

    it('ends every session of a user', async () => {
      const { email, tokens, user } = await registerAndLogin(app);
      const other = await login(app, email);
      expect((await as(admin.tokens.access_token).delete(`/admin/users/${user.id}/sessions`)).status).toBe(204);
      for (const t of [tokens, other]) expectError(await request(app).get('/profile').set(...bearer(t.access_token)), 401, 'invalid_token');
      await login(app, email);
    });

    it("removes a user's second factor: the next login asks for no code", async () => {
      const { email, tokens, user } = await registerAndLogin(app);
      const enrol = await request(app).post('/mfa/totp').set(...bearer(tokens.access_token));
      expect(enrol.status).toBe(200);
      const confirm = await request(app).post('/mfa/totp/confirm').set(...bearer(tokens.access_token)).send({ code: totpCode(enrol.body.secret, clock.now()) });
      expect(confirm.status).toBe(200);
      expectError(await request(app).post('/login').send({ email, password: PASSWORD }), 403, 'mfa_required');
      expect((await as(admin.tokens.access_token).delete(`/admin/users/${user.id}/mfa`)).status).toBe(204);
      expect((await as(admin.tokens.access_token).get(`/admin/users/${user.id}`)).body.user.mfa_enabled).toBe(false);
      expect((await login(app, email)).user.mfa_enabled).toBe(false);
    });

    it('validates bodies: unknown fields, a wrong role, a weak password', async () => {
      const { user } = await registerAndLogin(app);
      expect(expectError(await as(admin.tokens.access_token).patch(`/admin/users/${user.id}`, { role: 'root' }), 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['role']);
      expect(expectError(await as(admin.tokens.access_token).patch(`/admin/users/${user.id}`, { email: 'x@example.com' }), 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['email']);
      expect(expectError(await as(admin.tokens.access_token).post('/admin/users', { email: uniqueEmail(), password: 'password' }), 400, 'invalid_request').details?.map((d) => d.path)).toEqual(['password']);
    });
  },
  { pglite: 'without-postgres' },
);
