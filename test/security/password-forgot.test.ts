// Attacks on POST /password/forgot: telling a registered address from an unknown one by the answer, its headers, its time, or what the server does before answering.
import request from 'supertest';
import type { Stores } from '../../src/stores/types';
import { auditResponses, ResponseRecorder, target, type Target } from '../helpers/attack';
import { appOn, targetOn } from '../helpers/backend-target';
import { FakeClock } from '../helpers/fake-clock';
import { bearer, login, PASSWORD, register, uniqueEmail } from '../helpers/fixtures';
import { comparable, median } from '../helpers/sameness';
import { describeEachBackend } from '../helpers/store-backends';
import { settled, theTokenMailed, tokensMailed } from './mail-log';

function forgot(on: Target, email: string, headers: Record<string, string> = {}) {
  return request(on.http).post('/password/forgot').set(headers).send({ email });
}

/** What a holding store waits for: the addresses whose look-up it holds, whether it holds the issue of links, and the gate that lets them through. */
interface Hold {
  addresses: Set<string>;
  issue: boolean;
  release: Promise<void>;
  open: () => void;
}

function newHold(): Hold {
  let open!: () => void;
  const release = new Promise<void>((resolve) => (open = resolve));
  return { addresses: new Set(), issue: false, release, open };
}

/** `store`, with the method `name` made to wait for `until()` (when it returns a promise) before it runs. */
function delayed<T extends object>(store: T, name: string, until: (...args: unknown[]) => Promise<void> | null): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property !== name) return method.bind(target);
      return async (...args: unknown[]) => {
        await until(...args);
        return method.apply(target, args);
      };
    },
  });
}

/**
 * The backend's stores, where the look-up of a held address (`users.findByEmail`) and, while
 * `hold().issue` is set, the storing of a new link (`oneTimeTokens.create`) wait for the hold's gate.
 */
function holdingStores(stores: Stores, hold: () => Hold): Stores {
  const users = delayed(stores.users, 'findByEmail', (email) => (hold().addresses.has(String(email)) ? hold().release : null));
  const oneTimeTokens = delayed(stores.oneTimeTokens, 'create', () => (hold().issue ? hold().release : null));
  // A proxy, not a spread: Redis and SQL stores may be class instances whose close() and feeds live on the prototype.
  return new Proxy(stores, {
    get(target, property) {
      if (property === 'users') return users;
      if (property === 'oneTimeTokens') return oneTimeTokens;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// Runs on each storage backend: the look-up, the cooldown counter and the token are the store's, and so is their time. PGlite is left out: these suites open stores by the dozen, and PostgreSQL (required in CI) runs the same SQL store.
describeEachBackend('password forgot', (backend) => {
  const recorder = new ResponseRecorder();

  describe('one answer for every address', () => {
    let t: Target;
    beforeAll(async () => {
      t = await targetOn(backend, recorder);
    });
    afterAll(() => settled(t.http));

    /** What a probe sends (the address as spelled), to whom a mail may go (normalised), and how many reset mails must follow. */
    type Probe = (on: Target) => Promise<{ send: string; to: string; mails: number }>;

    const probes: [string, Probe][] = [
      ['a registered address', async (on) => {
        const { email } = await register(on.http);
        return { send: email, to: email, mails: 1 };
      }],
      ["an admin's address", async (on) => {
        const email = uniqueEmail('admin');
        await on.http.services.accounts.register(email, PASSWORD, 'admin');
        return { send: email, to: email, mails: 1 };
      }],
      ['a registered address in upper case', async (on) => {
        const { email } = await register(on.http);
        return { send: email.toUpperCase(), to: email, mails: 1 };
      }],
      ['a registered address in mixed case with spaces around', async (on) => {
        const { email } = await register(on.http);
        return { send: ` ${email.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c))}\t`, to: email, mails: 1 };
      }],
      ['a registered address whose reset mail went out a moment ago (its cooldown running)', async (on) => {
        const { email } = await register(on.http);
        expect((await forgot(on, email)).status).toBe(202);
        await settled(on.http);
        return { send: email, to: email, mails: 0 };
      }],
      ['a verified address', async (on) => {
        const from = on.logs.length;
        const { email } = await register(on.http);
        await settled(on.http);
        const token = theTokenMailed(on.logs, email, 'verification', from);
        expect((await request(on.http).post('/email/verify').send({ token })).status).toBe(200);
        return { send: email, to: email, mails: 1 };
      }],
      ['the address of a deleted account', async (on) => {
        const { email } = await register(on.http);
        const tokens = await login(on.http, email);
        expect((await request(on.http).delete('/profile').set(...bearer(tokens.access_token)).send({ password: PASSWORD })).status).toBe(204);
        return { send: email, to: email, mails: 0 };
      }],
      ['another unknown address', async () => {
        const email = uniqueEmail('nobody-else');
        return { send: email, to: email, mails: 0 };
      }],
    ];

    it.each(probes)('answers %s exactly as an unknown address: status, every header, every byte', async (_what, probe) => {
      const unknownAddress = uniqueEmail('nobody');
      const unknown = await forgot(t, unknownAddress);
      const { send, to, mails } = await probe(t);
      const from = t.logs.length;
      const known = await forgot(t, send);
      expect(unknown.status).toBe(202);
      expect(comparable(known)).toEqual(comparable(unknown));
      expect(known.body).toEqual({ status: 'accepted' });
      // Behind the same answer, the server did what it should: a link for an account out of its cooldown, nothing otherwise.
      await settled(t.http);
      expect({ to, mails: tokensMailed(t.logs, to, 'reset', from).length }).toEqual({ to, mails });
      expect(tokensMailed(t.logs, unknownAddress, 'reset')).toEqual([]);
    });

    it('answers a registered and an unknown address alike once both are past the per-address ceiling', async () => {
      // The victim's registration and login took two of the four.
      const own = await targetOn(backend, recorder, { RATE_LIMIT_MAX: '4' });
      const { email } = await register(own.http);
      expect((await forgot(own, uniqueEmail('first'))).status).toBe(202);
      const known = await forgot(own, email);
      const unknown = await forgot(own, uniqueEmail('ghost'));
      expect({ status: known.status, error: known.body.error }).toEqual({ status: 429, error: 'rate_limited' });
      expect(comparable(known)).toEqual(comparable(unknown));
      // It is the sign-in routes' ceiling: /login from that address is refused too.
      expect((await request(own.http).post('/login').send({ email, password: PASSWORD })).status).toBe(429);
      await settled(own.http);
    });

    it('answers a registered and an unknown address alike in production without SMTP_URL (501 not_configured), and looks neither up', async () => {
      const own = await targetOn(backend, recorder, { NODE_ENV: 'production' });
      const { email } = await register(own.http);
      const from = own.logs.length;
      const known = await forgot(own, email);
      const unknown = await forgot(own, uniqueEmail('nobody'));
      expect({ status: known.status, error: known.body.error }).toEqual({ status: 501, error: 'not_configured' });
      expect(comparable(known)).toEqual(comparable(unknown));
      await settled(own.http);
      expect(own.logs.slice(from).filter((line) => line.includes('password reset requested'))).toEqual([]);
    });

    it('keeps the per-address ceiling however X-Forwarded-For changes', async () => {
      const own = await targetOn(backend, recorder, { RATE_LIMIT_MAX: '3' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        statuses.push((await forgot(own, uniqueEmail('spray'), { 'X-Forwarded-For': `198.51.100.${i + 1}` })).status);
      }
      // The victim's registration and login were the first two of the three.
      expect(statuses).toEqual([202, 429, 429, 429]);
      await settled(own.http);
    });
  });

  describe('what the server does before it answers', () => {
    let hold = newHold();
    let t: Target;

    beforeAll(async () => {
      const clock = new FakeClock();
      t = await target(recorder, {}, { clock, stores: holdingStores(await backend.open(clock), () => hold) });
    });

    afterEach(async () => {
      hold.open();
      await settled(t.http);
      hold = newHold();
    });

    /** The answer, or a note that none came while the store was held (the route waited for it). */
    async function answerWhileHeld(email: string) {
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no answer while the store was held'), 3000).unref());
      const res = await Promise.race([forgot(t, email), timeout]);
      return typeof res === 'string' ? res : { status: res.status, body: res.body as unknown };
    }

    it('answers a registered and an unknown address while the look-up of the address has not come back: nothing found decides the answer', async () => {
      const { email } = await register(t.http);
      const unknownAddress = uniqueEmail('nobody');
      hold.addresses.add(email).add(unknownAddress);
      const from = t.logs.length;
      const accepted = { status: 202, body: { status: 'accepted' } };
      expect(await answerWhileHeld(email)).toEqual(accepted);
      expect(await answerWhileHeld(unknownAddress)).toEqual(accepted);
      expect(tokensMailed(t.logs, email, 'reset', from)).toEqual([]);
      // Let the look-ups through: the registered address gets its link after all.
      hold.open();
      await settled(t.http);
      expect(tokensMailed(t.logs, email, 'reset', from)).toHaveLength(1);
      expect(tokensMailed(t.logs, unknownAddress, 'reset', from)).toEqual([]);
    });

    it('answers a registered address while its link is not yet stored: the mail never holds up the answer', async () => {
      const { email } = await register(t.http);
      hold.issue = true;
      const from = t.logs.length;
      expect(await answerWhileHeld(email)).toEqual({ status: 202, body: { status: 'accepted' } });
      hold.open();
      await settled(t.http);
      expect(tokensMailed(t.logs, email, 'reset', from)).toHaveLength(1);
    });
  });

  describe('the time an answer takes', () => {
    /** Times one request, in milliseconds, after the work earlier answers started has ended. */
    async function timed(on: Target, email: string): Promise<number> {
      await settled(on.http);
      const started = process.hrtime.bigint();
      const res = await forgot(on, email);
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      expect(res.status).toBe(202);
      return elapsed;
    }

    /** Rounds of samples a timing test may take: a statistical check on a shared machine gets three tries, and fails only if all three fail. */
    const ROUNDS = 3;
    const PAIRS = 15;

    /**
     * Times PAIRS unknown and PAIRS registered addresses (`known(i)` gives the i-th), in pairs whose
     * order alternates (unknown first, then known first), so that a drift in load weighs on both.
     */
    async function round(on: Target, known: (i: number) => string): Promise<{ ratio: number; unknown: number[]; known: number[] }> {
      const samples = { unknown: [] as number[], known: [] as number[] };
      for (let i = 0; i < PAIRS; i += 1) {
        if (i % 2 === 0) {
          samples.unknown.push(await timed(on, uniqueEmail('timing')));
          samples.known.push(await timed(on, known(i)));
        } else {
          samples.known.push(await timed(on, known(i)));
          samples.unknown.push(await timed(on, uniqueEmail('timing')));
        }
      }
      return { ratio: median(samples.unknown) / median(samples.known), unknown: samples.unknown.map(Math.round), known: samples.known.map(Math.round) };
    }

    /** Passes when a round's ratio of medians is within 0.5–2; a failure shows every round's samples. */
    async function expectAlike(take: () => Promise<{ ratio: number; unknown: number[]; known: number[] }>): Promise<void> {
      const rounds: Awaited<ReturnType<typeof take>>[] = [];
      while (rounds.length < ROUNDS) {
        const taken = await take();
        rounds.push(taken);
        if (taken.ratio > 0.5 && taken.ratio < 2) return;
      }
      expect({ within: false, rounds }).toEqual({ within: true, rounds });
    }

    it('is about the same for a registered address (a link mailed each time) as for an unknown one (ratio of medians of alternating samples within 0.5–2)', async () => {
      const t = await targetOn(backend, recorder);
      await timed(t, (await register(t.http)).email);
      await timed(t, uniqueEmail('warm-up'));
      await expectAlike(async () => {
        // A fresh account for every sample: each is its first request, so each finds it, issues a link and mails it.
        const accounts: string[] = [];
        for (let i = 0; i < PAIRS; i += 1) accounts.push((await register(t.http)).email);
        const from = t.logs.length;
        const taken = await round(t, (i) => accounts[i]!);
        await settled(t.http);
        expect(accounts.filter((email) => tokensMailed(t.logs, email, 'reset', from).length !== 1)).toEqual([]);
        return taken;
      });
    });

    it('is about the same for a registered address in its cooldown (no mail) as for an unknown one (ratio of medians within 0.5–2)', async () => {
      const t = await targetOn(backend, recorder);
      const { email } = await register(t.http);
      const from = t.logs.length;
      await timed(t, email);
      await timed(t, uniqueEmail('warm-up'));
      await expectAlike(() => round(t, () => email));
      await settled(t.http);
      expect(tokensMailed(t.logs, email, 'reset', from)).toHaveLength(1);
    });
  });

  describe('the log of a test app', () => {
    it('holds the mail of the development log for a registered address only (what the probes above read)', async () => {
      const world = await appOn(backend);
      const { email } = await register(world.app);
      const unknownAddress = uniqueEmail('nobody');
      await request(world.app).post('/password/forgot').send({ email: unknownAddress });
      await request(world.app).post('/password/forgot').send({ email });
      await settled(world.app);
      expect(tokensMailed(world.logs, email, 'reset')).toHaveLength(1);
      expect(tokensMailed(world.logs, unknownAddress, 'reset')).toEqual([]);
    });
  });

  auditResponses(recorder, { atLeast: 100 });
}, { pglite: 'never' });
