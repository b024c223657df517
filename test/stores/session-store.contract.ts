// The store contract suite: what every Stores implementation (memory, Redis) must guarantee, run per implementation.
import { randomId } from '../../src/lib/random-id';
import type { SessionRecord, Stores, UserRecord } from '../../src/stores/types';
import { FakeClock } from '../helpers/fake-clock';

/** Builds a fresh, empty set of stores on the given clock. */
export type StoresFactory = (clock: FakeClock) => Stores | Promise<Stores>;

const HOUR = 3_600_000;
const HASH = '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234';
const GRACE_MS = 10_000;

/**
 * Registers the contract tests for one implementation. Ids and emails are random per test, so an
 * implementation backed by shared storage does not need to be emptied between tests.
 */
export function runStoreContract(name: string, factory: StoresFactory): void {
  describe(`${name} stores: the store contract`, () => {
    let clock: FakeClock;
    let stores: Stores;

    beforeEach(async () => {
      clock = new FakeClock();
      stores = await factory(clock);
    });

    afterEach(async () => {
      await stores.close();
    });

    function user(overrides: Partial<UserRecord> = {}): UserRecord {
      return {
        id: randomId(),
        email: `${randomId().toLowerCase()}@example.com`,
        role: 'user',
        passwordHash: HASH,
        createdAt: clock.now(),
        ...overrides,
      };
    }

    function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
      const now = clock.now();
      return {
        id: randomId(),
        userId: randomId(),
        createdAt: now,
        lastUsedAt: now,
        expiresAt: now + 24 * HOUR,
        userAgent: 'contract-test',
        ip: '127.0.0.1',
        refreshJti: randomId(),
        refreshIat: Math.floor(now / 1000),
        previousJti: null,
        rotatedAt: now,
        ...overrides,
      };
    }

    function next() {
      return { jti: randomId(), iat: Math.floor(clock.now() / 1000) };
    }

    describe('users', () => {
      it('creates a user and finds it by email and by id', async () => {
        const alice = user();
        await expect(stores.users.create(alice)).resolves.toBe('created');
        await expect(stores.users.findByEmail(alice.email)).resolves.toEqual(alice);
        await expect(stores.users.findById(alice.id)).resolves.toEqual(alice);
      });

      it('answers null for an unknown email or id', async () => {
        await expect(stores.users.findByEmail('nobody@example.com')).resolves.toBeNull();
        await expect(stores.users.findById(randomId())).resolves.toBeNull();
      });

      it('refuses a second user with the same email and keeps the first', async () => {
        const first = user();
        await stores.users.create(first);
        const second = user({ email: first.email, role: 'admin' });
        await expect(stores.users.create(second)).resolves.toBe('email_taken');
        await expect(stores.users.findByEmail(first.email)).resolves.toEqual(first);
        await expect(stores.users.findById(second.id)).resolves.toBeNull();
      });

      it('lets exactly one of concurrent creates with one email succeed', async () => {
        const email = user().email;
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.users.create(user({ email }))));
        expect(results.filter((r) => r === 'created')).toHaveLength(1);
        expect(results.filter((r) => r === 'email_taken')).toHaveLength(19);
        expect((await stores.users.list()).filter((u) => u.email === email)).toHaveLength(1);
      });

      it('lists every user, oldest first', async () => {
        const created: UserRecord[] = [];
        for (let i = 0; i < 3; i += 1) {
          const record = user();
          created.push(record);
          await stores.users.create(record);
          clock.advanceSeconds(1);
        }
        const listed = (await stores.users.list()).filter((u) => created.some((c) => c.id === u.id));
        expect(listed).toEqual(created);
      });

      it('returns copies: changing a returned or given record does not change the store', async () => {
        const given = user();
        await stores.users.create(given);
        (given as { role: string }).role = 'admin';
        const found = (await stores.users.findById(given.id)) as { role: string; passwordHash: string };
        expect(found.role).toBe('user');
        found.passwordHash = 'tampered';
        const [listed] = (await stores.users.list()).filter((u) => u.id === given.id) as { role: string }[];
        listed!.role = 'admin';
        const again = await stores.users.findByEmail(given.email);
        expect(again).toMatchObject({ role: 'user', passwordHash: HASH });
      });
    });

    describe('sessions', () => {
      it('creates a session that is then live', async () => {
        const s = session();
        await stores.sessions.create(s);
        await expect(stores.sessions.get(s.id)).resolves.toEqual(s);
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(true);
      });

      it('answers null and inactive for an unknown session', async () => {
        await expect(stores.sessions.get(randomId())).resolves.toBeNull();
        await expect(stores.sessions.isActive(randomId())).resolves.toBe(false);
      });

      it('ends a session when the clock reaches its expiresAt, not before', async () => {
        const s = session({ expiresAt: clock.now() + HOUR });
        await stores.sessions.create(s);
        clock.advance(HOUR - 1);
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(true);
        clock.advance(1);
        await expect(stores.sessions.get(s.id)).resolves.toBeNull();
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
      });

      it('returns copies: changing a returned or given record does not change the store', async () => {
        const s = session();
        const original = { ...s };
        await stores.sessions.create(s);
        s.refreshJti = 'changed-after-create';
        const found = (await stores.sessions.get(s.id))!;
        expect(found).toEqual(original);
        found.refreshJti = 'changed-after-get';
        found.previousJti = 'changed-after-get';
        await expect(stores.sessions.get(s.id)).resolves.toEqual(original);
      });

      it('ends one session with end(), once', async () => {
        const s = session();
        const other = session({ userId: s.userId });
        await stores.sessions.create(s);
        await stores.sessions.create(other);
        await expect(stores.sessions.end(s.id)).resolves.toBe(true);
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.get(s.id)).resolves.toBeNull();
        await expect(stores.sessions.end(s.id)).resolves.toBe(false);
        await expect(stores.sessions.end(randomId())).resolves.toBe(false);
        await expect(stores.sessions.isActive(other.id)).resolves.toBe(true);
      });

      it('lists the live sessions of one user, oldest first', async () => {
        const userId = randomId();
        const start = clock.now();
        const newest = session({ userId, createdAt: start + 2000 });
        const oldest = session({ userId, createdAt: start });
        const middle = session({ userId, createdAt: start + 1000 });
        const ended = session({ userId, createdAt: start + 500 });
        const expiring = session({ userId, createdAt: start + 700, expiresAt: start + HOUR });
        for (const s of [newest, oldest, ended, middle, expiring, session()]) await stores.sessions.create(s);
        await stores.sessions.end(ended.id);
        clock.advance(HOUR);

        const listed = await stores.sessions.listByUser(userId);
        expect(listed.map((s) => s.id)).toEqual([oldest.id, middle.id, newest.id]);
        expect(listed[0]).toEqual(oldest);
        await expect(stores.sessions.listByUser(randomId())).resolves.toEqual([]);
      });

      it('ends every live session of a user and says how many', async () => {
        const userId = randomId();
        const sessions = [session({ userId }), session({ userId }), session({ userId })];
        const expiring = session({ userId, expiresAt: clock.now() + HOUR });
        const stranger = session();
        for (const s of [...sessions, expiring, stranger]) await stores.sessions.create(s);
        clock.advance(HOUR);

        await expect(stores.sessions.endAllForUser(userId)).resolves.toBe(3);
        for (const s of sessions) await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.isActive(stranger.id)).resolves.toBe(true);
        await expect(stores.sessions.endAllForUser(userId)).resolves.toBe(0);
        await expect(stores.sessions.endAllForUser(randomId())).resolves.toBe(0);
      });

      it('keeps the session named by keepSessionId when ending the others', async () => {
        const userId = randomId();
        const [keep, a, b] = [session({ userId }), session({ userId }), session({ userId })];
        for (const s of [keep!, a!, b!]) await stores.sessions.create(s);

        await expect(stores.sessions.endAllForUser(userId, keep!.id)).resolves.toBe(2);
        await expect(stores.sessions.isActive(keep!.id)).resolves.toBe(true);
        await expect(stores.sessions.isActive(a!.id)).resolves.toBe(false);
        await expect(stores.sessions.isActive(b!.id)).resolves.toBe(false);
        expect((await stores.sessions.listByUser(userId)).map((s) => s.id)).toEqual([keep!.id]);
      });
    });

    describe('refresh rotation', () => {
      it('rotates the current token: the session then expects its successor', async () => {
        const s = session();
        await stores.sessions.create(s);
        clock.advanceSeconds(60);
        const successor = next();

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, successor, GRACE_MS);
        expect(outcome).toEqual({
          kind: 'rotated',
          session: expect.objectContaining({
            id: s.id,
            refreshJti: successor.jti,
            refreshIat: successor.iat,
            previousJti: s.refreshJti,
            rotatedAt: clock.now(),
            lastUsedAt: clock.now(),
            expiresAt: s.expiresAt,
            createdAt: s.createdAt,
          }),
        });
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: successor.jti });
      });

      it('answers grace, with the successor still standing, for the token just rotated out within the window', async () => {
        const s = session();
        await stores.sessions.create(s);
        const successor = next();
        await stores.sessions.rotate(s.id, s.refreshJti, successor, GRACE_MS);
        clock.advance(GRACE_MS - 1);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), GRACE_MS);
        expect(outcome).toEqual({
          kind: 'grace',
          session: expect.objectContaining({ id: s.id, refreshJti: successor.jti, refreshIat: successor.iat }),
        });
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: successor.jti });
        await expect(stores.sessions.rotate(s.id, successor.jti, next(), GRACE_MS)).resolves.toMatchObject({
          kind: 'rotated',
        });
      });

      it('answers reused for the token rotated out once the window has passed, and ends the session', async () => {
        const s = session();
        await stores.sessions.create(s);
        const successor = next();
        await stores.sessions.rotate(s.id, s.refreshJti, successor, GRACE_MS);
        clock.advance(GRACE_MS);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), GRACE_MS);
        expect(outcome).toEqual({ kind: 'reused', session: expect.objectContaining({ id: s.id, userId: s.userId }) });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.rotate(s.id, successor.jti, next(), GRACE_MS)).resolves.toEqual({
          kind: 'no_session',
        });
      });

      it('answers reused for an older token even within the window, and ends the session', async () => {
        const s = session();
        await stores.sessions.create(s);
        const second = next();
        await stores.sessions.rotate(s.id, s.refreshJti, second, GRACE_MS);
        await stores.sessions.rotate(s.id, second.jti, next(), GRACE_MS);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), GRACE_MS);
        expect(outcome.kind).toBe('reused');
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
      });

      it('answers reused, not grace, when the grace window is zero', async () => {
        const s = session();
        await stores.sessions.create(s);
        await stores.sessions.rotate(s.id, s.refreshJti, next(), 0);
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), 0)).resolves.toMatchObject({ kind: 'reused' });
      });

      it('answers no_session for an unknown, ended or expired session, changing nothing', async () => {
        await expect(stores.sessions.rotate(randomId(), randomId(), next(), GRACE_MS)).resolves.toEqual({
          kind: 'no_session',
        });
        const ended = session();
        await stores.sessions.create(ended);
        await stores.sessions.end(ended.id);
        await expect(stores.sessions.rotate(ended.id, ended.refreshJti, next(), GRACE_MS)).resolves.toEqual({
          kind: 'no_session',
        });
        const expiring = session({ expiresAt: clock.now() + HOUR });
        await stores.sessions.create(expiring);
        clock.advance(HOUR);
        await expect(stores.sessions.rotate(expiring.id, expiring.refreshJti, next(), GRACE_MS)).resolves.toEqual({
          kind: 'no_session',
        });
        await expect(stores.sessions.get(expiring.id)).resolves.toBeNull();
      });

      it('lets exactly one of 20 concurrent rotations of one token win; the others get its successor', async () => {
        const s = session();
        await stores.sessions.create(s);
        const successors = Array.from({ length: 20 }, () => next());

        const outcomes = await Promise.all(
          successors.map((successor) => stores.sessions.rotate(s.id, s.refreshJti, successor, GRACE_MS)),
        );
        const rotated = outcomes.filter((o) => o.kind === 'rotated');
        const grace = outcomes.filter((o) => o.kind === 'grace');
        expect(rotated).toHaveLength(1);
        expect(grace).toHaveLength(19);
        const winner = successors[outcomes.findIndex((o) => o.kind === 'rotated')]!;
        for (const outcome of grace) {
          expect(outcome).toMatchObject({ session: { refreshJti: winner.jti, refreshIat: winner.iat } });
        }
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: winner.jti });
      });
    });

    describe('rate-limit counters', () => {
      const WINDOW = 15 * 60_000;

      it('counts hits on a key within a window and tells when the window resets', async () => {
        const key = randomId();
        const start = clock.now();
        await expect(stores.rateLimits.increment(key, WINDOW)).resolves.toEqual({
          totalHits: 1,
          resetTime: new Date(start + WINDOW),
        });
        clock.advance(WINDOW - 1);
        await expect(stores.rateLimits.increment(key, WINDOW)).resolves.toEqual({
          totalHits: 2,
          resetTime: new Date(start + WINDOW),
        });
      });

      it('starts a new window once windowMs has passed on the clock', async () => {
        const key = randomId();
        await stores.rateLimits.increment(key, WINDOW);
        await stores.rateLimits.increment(key, WINDOW);
        clock.advance(WINDOW);
        await expect(stores.rateLimits.increment(key, WINDOW)).resolves.toEqual({
          totalHits: 1,
          resetTime: new Date(clock.now() + WINDOW),
        });
      });

      it('takes a hit back with decrement', async () => {
        const key = randomId();
        for (let i = 0; i < 3; i += 1) await stores.rateLimits.increment(key, WINDOW);
        await stores.rateLimits.decrement(key);
        await expect(stores.rateLimits.increment(key, WINDOW)).resolves.toMatchObject({ totalHits: 3 });
        await expect(stores.rateLimits.decrement(randomId())).resolves.toBeUndefined();
      });

      it('forgets a key with resetKey', async () => {
        const key = randomId();
        for (let i = 0; i < 3; i += 1) await stores.rateLimits.increment(key, WINDOW);
        await stores.rateLimits.resetKey(key);
        await expect(stores.rateLimits.increment(key, WINDOW)).resolves.toMatchObject({ totalHits: 1 });
      });

      it('keeps keys apart', async () => {
        const [a, b] = [randomId(), randomId()];
        await stores.rateLimits.increment(a, WINDOW);
        await stores.rateLimits.increment(a, WINDOW);
        await expect(stores.rateLimits.increment(b, WINDOW)).resolves.toMatchObject({ totalHits: 1 });
        await stores.rateLimits.resetKey(b);
        await expect(stores.rateLimits.increment(a, WINDOW)).resolves.toMatchObject({ totalHits: 3 });
      });

      it('counts concurrent hits without losing any', async () => {
        const key = randomId();
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.rateLimits.increment(key, WINDOW)));
        expect(results.map((r) => r.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });
    });

    describe('upkeep', () => {
      it('answers ping', async () => {
        await expect(stores.ping()).resolves.toBeUndefined();
      });

      it('sweeps expired entries and keeps live ones', async () => {
        const live = session({ expiresAt: clock.now() + 2 * HOUR });
        const expiring = session({ userId: live.userId, expiresAt: clock.now() + HOUR });
        await stores.sessions.create(live);
        await stores.sessions.create(expiring);
        const [shortKey, longKey] = [randomId(), randomId()];
        await stores.rateLimits.increment(shortKey, HOUR);
        await stores.rateLimits.increment(longKey, 2 * HOUR);
        clock.advance(HOUR);

        await expect(stores.sweep()).resolves.toBeUndefined();
        await expect(stores.sessions.get(live.id)).resolves.toEqual(live);
        await expect(stores.sessions.get(expiring.id)).resolves.toBeNull();
        expect((await stores.sessions.listByUser(live.userId)).map((s) => s.id)).toEqual([live.id]);
        await expect(stores.rateLimits.increment(longKey, 2 * HOUR)).resolves.toMatchObject({ totalHits: 2 });
        await expect(stores.rateLimits.increment(shortKey, HOUR)).resolves.toMatchObject({ totalHits: 1 });
      });
    });
  });
}
