// Attacks on login: telling accounts apart by answer or by time, and getting around the rate limit.
import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { AuthApp } from '../../src/app';
import { PREHASH_KEY } from '../../src/auth/passwords';
import { totpCode } from '../../src/auth/totp';
import { auditResponses, ResponseRecorder, type Target } from '../helpers/attack';
import { adminAndLogin, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { comparable, median } from '../helpers/sameness';
import { appOn, targetOn } from '../helpers/backend-target';
import { describeEachBackend } from '../helpers/store-backends';

// Every attack below runs on each storage backend: the rate-limit counters, the account lookups and their timing are the store's. PGlite is left out: these suites open stores by the dozen, and PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('login', (backend) => {
  const recorder = new ResponseRecorder();
  const WRONG = 'not the password at all';

  function attempt(app: AuthApp, email: string, password: string, headers: Record<string, string> = {}) {
    return request(app).post('/login').set(headers).send({ email, password });
  }

  /**
   * A new account with TOTP enrolled and confirmed through the API (the code computed from the
   * secret at the app's clock, as an authenticator would show it); returns its email. Its right
   * passwords count as successes, so the probe after them is still the first failure of its
   * (email, address) pair, as the other probes are.
   */
  async function withSecondFactor(on: Target): Promise<string> {
    const { email } = await register(on.http);
    const signedIn = await request(on.http).post('/login').send({ email, password: PASSWORD });
    expect(signedIn.status).toBe(200);
    const auth = { Authorization: `Bearer ${signedIn.body.access_token}` };
    const start = await request(on.http).post('/mfa/totp').set(auth);
    expect(start.status).toBe(200);
    const confirm = await request(on.http).post('/mfa/totp/confirm').set(auth).send({ code: totpCode(start.body.secret, on.clock.now()) });
    expect(confirm.status).toBe(200);
    // The factor is on: the right password now asks for it.
    expect((await attempt(on.http, email, PASSWORD)).body.error).toBe('mfa_required');
    return email;
  }

  describe('one answer for every failed login', () => {
    let t: Target;
    beforeAll(async () => {
      t = await targetOn(backend, recorder, { MFA_ENCRYPTION_KEY: 'Jq3vT8yW1nR6kP0sX4mB9cL2dF7gH5zA1eU3iO8tY6w=' });
    });

    /** Each probe is the first failure of its (email, address) pair, so the rate-limit headers agree too. */
    const probes: [string, (t: Target) => Promise<request.Response>][] = [
      ['a wrong password', async (on) => attempt(on.http, (await register(on.http)).email, WRONG)],
      ['the password in another case', async (on) => attempt(on.http, (await register(on.http)).email, PASSWORD.toUpperCase())],
      ['the email in another case and a wrong password', async (on) => attempt(on.http, (await register(on.http)).email.toUpperCase(), WRONG)],
      ["another user's password", async (on) => attempt(on.http, (await register(on.http)).email, on.victim.password === PASSWORD ? `${PASSWORD}!` : PASSWORD)],
      ["an admin's email and a wrong password", async (on) => attempt(on.http, (await adminAndLogin(on.http)).email, WRONG)],
      ['the password with a trailing space', async (on) => attempt(on.http, (await register(on.http)).email, `${PASSWORD} `)],
      ['an account with a second factor and a wrong password', async (on) => attempt(on.http, await withSecondFactor(on), WRONG)],
    ];

    it.each(probes)('answers %s exactly as an unknown email: status, every header, every byte', async (_what, probe) => {
      const unknown = await attempt(t.http, uniqueEmail('nobody'), WRONG);
      const known = await probe(t);
      expect(unknown.status).toBe(401);
      expect(comparable(known)).toEqual(comparable(unknown));
    });

    it('answers a known and an unknown email alike once both are rate-limited', async () => {
      const { email } = await register(t.http);
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 5; i += 1) {
        await attempt(t.http, email, WRONG);
        await attempt(t.http, ghost, WRONG);
      }
      const known = await attempt(t.http, email, PASSWORD);
      const unknown = await attempt(t.http, ghost, PASSWORD);
      expect(known.status).toBe(429);
      expect(comparable(known)).toEqual(comparable(unknown));
    });

    it('answers registration alike for a taken and a free email when registration is closed', async () => {
      const closed = await appOn(backend, { ALLOW_REGISTRATION: 'false' });
      const app = recorder.wrap(closed.app);
      const email = uniqueEmail('provisioned');
      await app.services.accounts.register(email, PASSWORD);
      const taken = await request(app).post('/register').send({ email, password: PASSWORD });
      const free = await request(app).post('/register').send({ email: uniqueEmail('free'), password: PASSWORD });
      expect(taken.status).toBe(404);
      expect(comparable(taken)).toEqual(comparable(free));
    });
  });

  describe('the time a failed login takes', () => {
    it('is about the same for an unknown email as for a wrong password (ratio of medians of alternating samples within 0.5–2)', async () => {
      // A statistical check of the dummy-hash design, not a speed target: without the dummy hash an
      // unknown email would answer in about 1 ms against bcrypt's ~70 ms, a ratio near 0.02.
      const t = await targetOn(backend, recorder, { LOGIN_RATE_LIMIT_MAX: '1000' });
      const timed = async (email: string) => {
        const started = process.hrtime.bigint();
        const res = await attempt(t.http, email, WRONG);
        expect(res.status).toBe(401);
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      await timed(t.victim.email);
      await timed(uniqueEmail('warm-up'));
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 15; i += 1) {
        unknown.push(await timed(uniqueEmail('timing')));
        wrong.push(await timed(t.victim.email));
      }
      const ratio = median(unknown) / median(wrong);
      expect({ ratio: ratio > 0.5 && ratio < 2, medians: { unknown: median(unknown), wrong: median(wrong) } }).toEqual({
        ratio: true,
        medians: expect.anything(),
      });
    });
  });

  describe('the rate limit without a trusted proxy', () => {
    const spoofs: [string, (i: number) => Record<string, string>][] = [
      ['a new X-Forwarded-For each time', (i) => ({ 'X-Forwarded-For': `198.51.100.${i + 1}` })],
      ['a growing X-Forwarded-For chain', (i) => ({ 'X-Forwarded-For': Array.from({ length: i + 1 }, (_, j) => `203.0.113.${j + 1}`).join(', ') })],
      ['X-Real-IP', (i) => ({ 'X-Real-IP': `198.51.100.${i + 1}` })],
      ['Forwarded: for=', (i) => ({ Forwarded: `for=198.51.100.${i + 1}` })],
      ['True-Client-IP and CF-Connecting-IP', (i) => ({ 'True-Client-IP': `198.51.100.${i + 1}`, 'CF-Connecting-IP': `198.51.100.${i + 1}` })],
      ['X-Client-IP and X-Cluster-Client-IP', (i) => ({ 'X-Client-IP': `198.51.100.${i + 1}`, 'X-Cluster-Client-IP': `198.51.100.${i + 1}` })],
      ['an IPv6 X-Forwarded-For each time', (i) => ({ 'X-Forwarded-For': `2001:db8::${i + 1}` })],
    ];

    it.each(spoofs)('still refuses the 6th attempt, with the right password, when each attempt claims %s', async (_what, headers) => {
      const t = await targetOn(backend, recorder);
      for (let i = 0; i < 5; i += 1) expect((await attempt(t.http, t.victim.email, WRONG, headers(i))).status).toBe(401);
      const res = await attempt(t.http, t.victim.email, PASSWORD, headers(5));
      expect({ status: res.status, error: res.body.error, token: res.body.access_token }).toEqual({ status: 429, error: 'rate_limited', token: undefined });
    });

    it.each([
      ['in upper case', (email: string) => email.toUpperCase()],
      ['with spaces around', (email: string) => `  ${email} `],
      ['with a tab and a newline around', (email: string) => `\t${email}\n`],
      ['in mixed case', (email: string) => email.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c))],
    ])('counts the email %s as the same account', async (_what, spell) => {
      const t = await targetOn(backend, recorder);
      for (let i = 0; i < 5; i += 1) await attempt(t.http, i % 2 ? spell(t.victim.email) : t.victim.email, WRONG);
      expect((await attempt(t.http, spell(t.victim.email), PASSWORD)).status).toBe(429);
    });

    it('keeps the per-address ceiling however X-Forwarded-For changes', async () => {
      const t = await targetOn(backend, recorder, { RATE_LIMIT_MAX: '3' });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        statuses.push((await attempt(t.http, uniqueEmail('spray'), WRONG, { 'X-Forwarded-For': `198.51.100.${i + 1}` })).status);
      }
      // The victim's registration and login were the first two of the three.
      expect(statuses).toEqual([401, 429, 429, 429, 429]);
    });
  });

  describe('the rate limit behind a trusted proxy (TRUST_PROXY=1)', () => {
    it('ignores what the client writes to the left of the address the proxy appended', async () => {
      const t = await targetOn(backend, recorder, { TRUST_PROXY: '1' });
      for (let i = 0; i < 5; i += 1) {
        await attempt(t.http, t.victim.email, WRONG, { 'X-Forwarded-For': `10.0.0.${i + 1}, 198.51.100.77` });
      }
      const res = await attempt(t.http, t.victim.email, PASSWORD, { 'X-Forwarded-For': '10.9.9.9, 198.51.100.77' });
      expect(res.status).toBe(429);
    });

    it('counts an IPv6 client that rotates addresses within its /64 as one', async () => {
      const t = await targetOn(backend, recorder, { TRUST_PROXY: '1' });
      for (let i = 0; i < 5; i += 1) await attempt(t.http, t.victim.email, WRONG, { 'X-Forwarded-For': `2001:db8:1:2::${(i + 1).toString(16)}` });
      const res = await attempt(t.http, t.victim.email, PASSWORD, { 'X-Forwarded-For': '2001:db8:1:2:ffff:ffff:ffff:ffff' });
      expect(res.status).toBe(429);
    });
  });

  describe('passwords bcrypt would misread', () => {
    let t: Target;
    beforeAll(async () => {
      t = await targetOn(backend, recorder);
    });

    it('never cuts a password at bcrypt\'s 72 bytes: one that shares its first 72 bytes does not log in', async () => {
      const head = 'p'.repeat(72);
      const password = `${head}-and-then-the-rest`;
      const { email } = await register(t.http, uniqueEmail('long'), password);
      expect((await attempt(t.http, email, password)).status).toBe(200);
      for (const other of [head, `${head}-and-then-the-resT`, `${head}-and-then-anything`]) {
        expect({ other, status: (await attempt(t.http, email, other)).status }).toEqual({ other, status: 401 });
      }
    });

    it('counts characters, not bytes: 72 two-byte characters (144 bytes) register and log in, their first 36 (72 bytes) do not', async () => {
      const password = 'é'.repeat(72);
      const { email } = await register(t.http, uniqueEmail('utf8'), password);
      expect((await attempt(t.http, email, password)).status).toBe(200);
      expect((await attempt(t.http, email, 'é'.repeat(36))).status).toBe(401);
    });

    it('does not take the pre-hash of a long password as a password: its documented HMAC, sent as it is, gets 401', async () => {
      const password = `${'長い合言葉'.repeat(6)}!`; // 31 characters, 91 bytes: pre-hashed
      const { email } = await register(t.http, uniqueEmail('prehash'), password);
      const digest = createHmac('sha256', PREHASH_KEY).update(password, 'utf8').digest('base64');
      for (const guess of [digest, `\u00ff${digest}`]) {
        expect((await attempt(t.http, email, guess)).status).toBe(401);
      }
      expect((await attempt(t.http, email, password)).status).toBe(200);
    });

    it('refuses a password over 128 characters at login before hashing: no account can have one', async () => {
      const res = await attempt(t.http, t.victim.email, 'x'.repeat(129));
      expect({ status: res.status, error: res.body.error, details: res.body.details }).toEqual({
        status: 400,
        error: 'invalid_request',
        details: [{ path: 'password', message: 'must be at most 128 characters' }],
      });
    });

    it('refuses a password with a NUL byte at registration and at login (bcrypt would stop reading there)', async () => {
      const registered = await request(t.http).post('/register').send({ email: uniqueEmail('nul'), password: `${PASSWORD}\u0000suffix` });
      expect(registered.status).toBe(400);
      const login = await attempt(t.http, t.victim.email, `${PASSWORD}\u0000`);
      expect({ status: login.status, error: login.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    });
  });

  auditResponses(recorder, { atLeast: 150 });
}, { pglite: 'never' });
