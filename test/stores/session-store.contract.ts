// The store contract suite: what every Stores implementation (memory, Redis) must guarantee, run per implementation.
import { randomId } from '../../src/lib/random-id';
import type {
  MfaFactorRecord,
  OneTimeTokenPurpose,
  OneTimeTokenRecord,
  SessionRecord,
  Stores,
  UserChanges,
  UserPageQuery,
  UserRecord,
} from '../../src/stores/types';
import { FakeClock } from '../helpers/fake-clock';
import { sessionRecord, userRecord } from '../helpers/store-records';

/** Builds a fresh set of stores on the given clock (its storage may hold other tests' rows). */
export type StoresFactory = (clock: FakeClock) => Stores | Promise<Stores>;

/** An entry that expires, named as the contract's callers name it. */
export type ExpiringEntry =
  | { kind: 'session'; id: string }
  | { kind: 'rateLimit'; key: string }
  | { kind: 'oneTimeToken'; purpose: OneTimeTokenPurpose; hash: string };

/** What an implementation shows the suite beyond the contract. */
export interface ContractHooks {
  /**
   * Whether the stores still hold the entry, live or expired, without touching it (a read
   * through the contract may drop an expired entry and hide whether sweep() did). 'expires-itself'
   * when the backing storage drops it unaided once expired (a Redis key with a TTL), so that
   * sweep() has nothing to do for it.
   */
  holds(stores: Stores, entry: ExpiringEntry): Promise<boolean | 'expires-itself'>;
}

const HOUR = 3_600_000;
const HASH = '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234';
const OTHER_HASH = '$2b$10$zyxwvutsrqponmlkjihgfeeZYXWVUTSRQPONMLKJIHGFEDCBA98765';
const GRACE_MS = 10_000;

/**
 * Registers the contract tests for one implementation. Ids and emails are random per test, so an
 * implementation backed by shared storage does not need to be emptied between tests, and no test
 * assumes the store is empty. `hooks` lets the suite see what only the implementation can show
 * (whether sweep() frees storage); without them that test fails and says why.
 */
export function runStoreContract(name: string, factory: StoresFactory, hooks?: ContractHooks): void {
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
      return userRecord(clock.now(), { passwordHash: HASH, ...overrides });
    }

    /** A text no other test's email contains: pages filtered on it see only this test's users. */
    function tag(): string {
      return `t${randomId().toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    }

    /** Creates `count` users whose emails contain `mark`, one millisecond apart, oldest first. */
    async function createUsers(count: number, mark: string): Promise<UserRecord[]> {
      const created: UserRecord[] = [];
      for (let i = 0; i < count; i += 1) {
        clock.advance(1);
        const record = user({ email: `${mark}-${i}-${randomId().toLowerCase()}@example.com` });
        await expect(stores.users.create(record)).resolves.toBe('created');
        created.push(record);
      }
      return created;
    }

    /** Follows the cursors from the first page to the last; returns every page. */
    async function walk(query: Omit<UserPageQuery, 'cursor'>): Promise<UserRecord[][]> {
      const pages: UserRecord[][] = [];
      let cursor: string | null = null;
      do {
        const page = await stores.users.listPage({ ...query, cursor });
        expect(page.users.length).toBeLessThanOrEqual(query.limit);
        pages.push(page.users);
        cursor = page.nextCursor;
      } while (cursor !== null);
      return pages;
    }

    function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
      return sessionRecord(clock.now(), overrides);
    }

    function next() {
      return { jti: randomId(), iat: Math.floor(clock.now() / 1000) };
    }

    function token(overrides: Partial<OneTimeTokenRecord> = {}): OneTimeTokenRecord {
      const now = clock.now();
      return {
        hash: randomId(),
        purpose: 'password_reset',
        userId: randomId(),
        createdAt: now,
        expiresAt: now + HOUR,
        ...overrides,
      };
    }

    function factor(overrides: Partial<MfaFactorRecord> = {}): MfaFactorRecord {
      return {
        userId: randomId(),
        secretCiphertext: randomId(),
        confirmed: false,
        createdAt: clock.now(),
        lastUsedStep: null,
        recoveryCodeHashes: [],
        ...overrides,
      };
    }

    /** A confirmed factor whose first code used `step`. */
    async function enrolled(codes: string[] = [], step = 1000): Promise<MfaFactorRecord> {
      const pending = factor();
      await expect(stores.mfa.putPending(pending)).resolves.toBe('stored');
      await expect(stores.mfa.confirm(pending.userId, pending.secretCiphertext, codes, step)).resolves.toBe(true);
      return { ...pending, confirmed: true, lastUsedStep: step, recoveryCodeHashes: codes };
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
        const { users } = await stores.users.listPage({ limit: 1000, emailContains: email });
        expect(users.filter((u) => u.email === email)).toHaveLength(1);
      });

      it('returns copies: changing a returned or given record does not change the store', async () => {
        const given = user();
        await stores.users.create(given);
        (given as { role: string }).role = 'admin';
        const found = (await stores.users.findById(given.id)) as { role: string; passwordHash: string };
        expect(found.role).toBe('user');
        found.passwordHash = 'tampered';
        const [listed] = (await stores.users.listPage({ limit: 1000, emailContains: given.email })).users as { role: string }[];
        listed!.role = 'admin';
        const again = await stores.users.findByEmail(given.email);
        expect(again).toMatchObject({ role: 'user', passwordHash: HASH });
        await expect(stores.users.findById(given.id)).resolves.toMatchObject({ role: 'user', passwordHash: HASH });
      });
    });

    describe('user updates', () => {
      const changesOfEachField: [string, UserChanges][] = [
        ['passwordHash', { passwordHash: OTHER_HASH }],
        ['role', { role: 'admin' }],
        ['emailVerified', { emailVerified: true }],
        ['disabled', { disabled: true }],
        ['lastLoginAt', { lastLoginAt: 1_700_000_123_456 }],
      ];

      it.each(changesOfEachField)('changes %s alone, returns the record as it now is, and every look-up sees it', async (_field, changes) => {
        const alice = user();
        await stores.users.create(alice);
        await stores.users.findById(alice.id);
        const expected = { ...alice, ...changes };

        await expect(stores.users.update(alice.id, changes)).resolves.toEqual(expected);
        await expect(stores.users.findById(alice.id)).resolves.toEqual(expected);
        await expect(stores.users.findByEmail(alice.email)).resolves.toEqual(expected);
        await expect(stores.users.listPage({ limit: 1000, emailContains: alice.email })).resolves.toEqual({
          users: [expected],
          nextCursor: null,
        });
      });

      it('changes the password only while the stored hash is the expected one, atomically', async () => {
        const alice = user();
        await stores.users.create(alice);
        await stores.users.findById(alice.id);
        // A reset lands first; a change checked against the old hash must then change nothing.
        const reset = await stores.users.update(alice.id, { passwordHash: 'hash-of-reset' }, alice.passwordHash);
        expect(reset).toEqual({ ...alice, passwordHash: 'hash-of-reset' });
        await expect(stores.users.update(alice.id, { passwordHash: 'hash-of-change', emailVerified: true }, alice.passwordHash)).resolves.toBeNull();
        await expect(stores.users.findById(alice.id)).resolves.toEqual({ ...alice, passwordHash: 'hash-of-reset' });
        // Of two changes racing from one hash, exactly one wins.
        const both = await Promise.all(['a', 'b'].map((h) => stores.users.update(alice.id, { passwordHash: `hash-${h}` }, 'hash-of-reset')));
        expect(both.filter((result) => result !== null)).toHaveLength(1);
        await expect(stores.users.update(randomId(), { role: 'admin' }, alice.passwordHash)).resolves.toBeNull();
      });

      it('changes several fields at once, and sets them back (lastLoginAt to null)', async () => {
        const alice = user();
        await stores.users.create(alice);
        const login = clock.now();
        const changed = { ...alice, role: 'admin' as const, emailVerified: true, disabled: true, lastLoginAt: login };
        await expect(
          stores.users.update(alice.id, { role: 'admin', emailVerified: true, disabled: true, lastLoginAt: login }),
        ).resolves.toEqual(changed);
        await expect(
          stores.users.update(alice.id, { role: 'user', emailVerified: false, disabled: false, lastLoginAt: null }),
        ).resolves.toEqual(alice);
        await expect(stores.users.findById(alice.id)).resolves.toEqual(alice);
      });

      it('answers null for an unknown id, and creates nothing', async () => {
        const id = randomId();
        await expect(stores.users.update(id, { role: 'admin' })).resolves.toBeNull();
        await expect(stores.users.findById(id)).resolves.toBeNull();
      });

      it('applies concurrent updates of different fields: every one of them sticks', async () => {
        const alice = user();
        const bob = user();
        await stores.users.create(alice);
        await stores.users.create(bob);
        const results = await Promise.all(changesOfEachField.map(([, changes]) => stores.users.update(alice.id, changes)));

        const all = Object.assign({}, ...changesOfEachField.map(([, changes]) => changes)) as UserChanges;
        changesOfEachField.forEach(([, changes], i) => expect(results[i]).toMatchObject(changes));
        await expect(stores.users.findById(alice.id)).resolves.toEqual({ ...alice, ...all });
        await expect(stores.users.findById(bob.id)).resolves.toEqual(bob);
      });

      it('returns a copy: changing the returned record does not change the store', async () => {
        const alice = user();
        await stores.users.create(alice);
        const returned = (await stores.users.update(alice.id, { emailVerified: true })) as { role: string };
        returned.role = 'admin';
        await expect(stores.users.findById(alice.id)).resolves.toEqual({ ...alice, emailVerified: true });
      });
    });

    describe('user deletion', () => {
      it('deletes a user once: it is found by neither id nor email, and a second delete answers false', async () => {
        const alice = user();
        const bob = user();
        await stores.users.create(alice);
        await stores.users.create(bob);
        await stores.users.findById(alice.id);

        await expect(stores.users.delete(alice.id)).resolves.toBe(true);
        await expect(stores.users.findById(alice.id)).resolves.toBeNull();
        await expect(stores.users.findByEmail(alice.email)).resolves.toBeNull();
        await expect(stores.users.update(alice.id, { role: 'admin' })).resolves.toBeNull();
        await expect(stores.users.delete(alice.id)).resolves.toBe(false);
        await expect(stores.users.delete(randomId())).resolves.toBe(false);
        await expect(stores.users.findById(bob.id)).resolves.toEqual(bob);
      });

      it('frees the email for a new user', async () => {
        const alice = user();
        await stores.users.create(alice);
        await stores.users.delete(alice.id);
        const again = user({ email: alice.email });

        await expect(stores.users.create(again)).resolves.toBe('created');
        await expect(stores.users.findByEmail(alice.email)).resolves.toEqual(again);
        await expect(stores.users.findById(alice.id)).resolves.toBeNull();
      });

      it('leaves the user out of every page', async () => {
        const mark = tag();
        const [first, gone, last] = await createUsers(3, mark);
        await stores.users.delete(gone!.id);
        await expect(stores.users.listPage({ limit: 1000, emailContains: mark })).resolves.toEqual({
          users: [first, last],
          nextCursor: null,
        });
      });
    });

    describe('user pages', () => {
      it('answers at most `limit` users, with a cursor while more follow and none on the last page', async () => {
        const mark = tag();
        const created = await createUsers(3, mark);

        const first = await stores.users.listPage({ limit: 2, emailContains: mark });
        expect(first.users).toEqual(created.slice(0, 2));
        expect(typeof first.nextCursor).toBe('string');
        await expect(stores.users.listPage({ limit: 2, emailContains: mark, cursor: first.nextCursor })).resolves.toEqual({
          users: created.slice(2),
          nextCursor: null,
        });
        // A page that ends exactly with the last match is the last page.
        await expect(stores.users.listPage({ limit: 3, emailContains: mark })).resolves.toEqual({ users: created, nextCursor: null });
      });

      it('answers an empty last page when nothing matches', async () => {
        await expect(stores.users.listPage({ limit: 5, emailContains: tag() })).resolves.toEqual({ users: [], nextCursor: null });
      });

      it('visits every user exactly once, in creation order, when the cursors are followed', async () => {
        const created = await createUsers(5, tag());
        const ids = (await walk({ limit: 2 })).flat().map((u) => u.id);

        expect(new Set(ids).size).toBe(ids.length);
        const mine = new Set(created.map((u) => u.id));
        expect(ids.filter((id) => mine.has(id))).toEqual(created.map((u) => u.id));
      });

      it('keeps only users whose email contains the text, across pages', async () => {
        const mark = tag();
        const other = tag();
        const wanted: UserRecord[] = [];
        for (let i = 0; i < 3; i += 1) {
          await createUsers(2, other);
          wanted.push(...(await createUsers(1, mark)));
        }

        const pages = await walk({ limit: 1, emailContains: mark });
        expect(pages.flat()).toEqual(wanted);
        expect(pages.flat().every((u) => u.email.includes(mark))).toBe(true);
      });

      it('goes on from a cursor whose user has since been deleted', async () => {
        const mark = tag();
        const [a, b, c, d] = await createUsers(4, mark);
        const first = await stores.users.listPage({ limit: 2, emailContains: mark });
        expect(first.users).toEqual([a, b]);

        await stores.users.delete(b!.id);
        await expect(stores.users.listPage({ limit: 2, emailContains: mark, cursor: first.nextCursor })).resolves.toEqual({
          users: [c, d],
          nextCursor: null,
        });
        const unfiltered = await stores.users.listPage({ limit: 1, cursor: first.nextCursor });
        expect(unfiltered.users.map((u) => u.id)).not.toContain(b!.id);
      });

      it('puts users created during a walk after the ones that were there', async () => {
        const mark = tag();
        const created = await createUsers(3, mark);
        const first = await stores.users.listPage({ limit: 2, emailContains: mark });
        const [late] = await createUsers(1, mark);

        await expect(stores.users.listPage({ limit: 2, emailContains: mark, cursor: first.nextCursor })).resolves.toEqual({
          users: [created[2], late],
          nextCursor: null,
        });
      });

      it('returns copies: changing a listed record does not change the store', async () => {
        const mark = tag();
        const [alice] = await createUsers(1, mark);
        const [listed] = (await stores.users.listPage({ limit: 1, emailContains: mark })).users as { role: string }[];
        listed!.role = 'admin';
        await expect(stores.users.findById(alice!.id)).resolves.toEqual(alice);
      });

      it.each(['not-a-cursor', '.', '12.', 'x.abc', '-'])('refuses the cursor %j it never handed out as invalid_request', async (cursor) => {
        await expect(stores.users.listPage({ limit: 1, cursor })).rejects.toMatchObject({
          code: 'invalid_request',
          status: 400,
          description: 'The cursor is not valid.',
        });
      });

      it.each([0, -1, 1001, 1.5, Number.NaN])('refuses a page limit of %p: the contract allows 1 to 1,000', async (limit) => {
        await expect(stores.users.listPage({ limit })).rejects.toThrow(RangeError);
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

      it('answers false to end() for a session expired on the clock but not swept', async () => {
        const s = session({ expiresAt: clock.now() + HOUR });
        await stores.sessions.create(s);
        clock.advance(HOUR);
        await expect(stores.sessions.end(s.id)).resolves.toBe(false);
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
      });

      it('lists copies: changing a listed record does not change the store', async () => {
        const s = session();
        await stores.sessions.create(s);
        const [listed] = await stores.sessions.listByUser(s.userId);
        listed!.refreshJti = 'changed-after-list';
        listed!.lastUsedAt = 0;
        await expect(stores.sessions.listByUser(s.userId)).resolves.toEqual([s]);
        await expect(stores.sessions.get(s.id)).resolves.toEqual(s);
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

    describe('the revocation check (what verifyToken asks on every protected request)', () => {
      /** The check the app uses: the stores' own copy of ended sessions where they keep one. */
      const check = () => stores.revocations ?? stores.sessions;

      it('answers true for a live session, also when asked again, and false for one that never existed', async () => {
        const s = session();
        await stores.sessions.create(s);
        await expect(check().isActive(s.id)).resolves.toBe(true);
        await expect(check().isActive(s.id)).resolves.toBe(true);
        await expect(check().isActive(randomId())).resolves.toBe(false);
      });

      it('answers false once a session it has answered true for is ended, by end() or endAllForUser()', async () => {
        const userId = randomId();
        const [a, b, keep] = [session({ userId }), session({ userId }), session({ userId })];
        for (const s of [a!, b!, keep!]) {
          await stores.sessions.create(s);
          await expect(check().isActive(s.id)).resolves.toBe(true);
        }
        await stores.sessions.end(a!.id);
        await expect(check().isActive(a!.id)).resolves.toBe(false);
        await stores.sessions.endAllForUser(userId, keep!.id);
        await expect(check().isActive(b!.id)).resolves.toBe(false);
        await expect(check().isActive(keep!.id)).resolves.toBe(true);
      });

      it('answers false once rotation ends a session for a replay or for idling', async () => {
        const replayed = session();
        const idle = session();
        for (const s of [replayed, idle]) {
          await stores.sessions.create(s);
          await expect(check().isActive(s.id)).resolves.toBe(true);
        }
        await expect(stores.sessions.rotate(replayed.id, randomId(), next(), { graceMs: GRACE_MS })).resolves.toMatchObject({ kind: 'reused' });
        clock.advance(HOUR);
        await expect(stores.sessions.rotate(idle.id, idle.refreshJti, next(), { graceMs: GRACE_MS, idleTimeoutMs: HOUR })).resolves.toMatchObject({
          kind: 'idle',
        });
        await expect(check().isActive(replayed.id)).resolves.toBe(false);
        await expect(check().isActive(idle.id)).resolves.toBe(false);
      });
    });

    describe('refresh rotation', () => {
      it('rotates the current token: the session then expects its successor', async () => {
        const s = session();
        await stores.sessions.create(s);
        clock.advanceSeconds(60);
        const successor = next();

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, successor, { graceMs: GRACE_MS });
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
        await stores.sessions.rotate(s.id, s.refreshJti, successor, { graceMs: GRACE_MS });
        clock.advance(GRACE_MS - 1);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS });
        expect(outcome).toEqual({
          kind: 'grace',
          session: expect.objectContaining({ id: s.id, refreshJti: successor.jti, refreshIat: successor.iat }),
        });
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: successor.jti });
        await expect(stores.sessions.rotate(s.id, successor.jti, next(), { graceMs: GRACE_MS })).resolves.toMatchObject({
          kind: 'rotated',
        });
      });

      it('answers reused for the token rotated out once the window has passed, and ends the session', async () => {
        const s = session();
        await stores.sessions.create(s);
        const successor = next();
        await stores.sessions.rotate(s.id, s.refreshJti, successor, { graceMs: GRACE_MS });
        clock.advance(GRACE_MS);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS });
        expect(outcome).toEqual({ kind: 'reused', session: expect.objectContaining({ id: s.id, userId: s.userId }) });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.rotate(s.id, successor.jti, next(), { graceMs: GRACE_MS })).resolves.toEqual({
          kind: 'no_session',
        });
      });

      it('answers reused for an older token even within the window, and ends the session', async () => {
        const s = session();
        await stores.sessions.create(s);
        const second = next();
        await stores.sessions.rotate(s.id, s.refreshJti, second, { graceMs: GRACE_MS });
        await stores.sessions.rotate(s.id, second.jti, next(), { graceMs: GRACE_MS });

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS });
        expect(outcome.kind).toBe('reused');
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
      });

      it('answers reused, not grace, when the grace window is zero', async () => {
        const s = session();
        await stores.sessions.create(s);
        await stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: 0 });
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: 0 })).resolves.toMatchObject({ kind: 'reused' });
      });

      it('answers no_session for an unknown, ended or expired session, changing nothing', async () => {
        await expect(stores.sessions.rotate(randomId(), randomId(), next(), { graceMs: GRACE_MS })).resolves.toEqual({
          kind: 'no_session',
        });
        const ended = session();
        await stores.sessions.create(ended);
        await stores.sessions.end(ended.id);
        await expect(stores.sessions.rotate(ended.id, ended.refreshJti, next(), { graceMs: GRACE_MS })).resolves.toEqual({
          kind: 'no_session',
        });
        const expiring = session({ expiresAt: clock.now() + HOUR });
        await stores.sessions.create(expiring);
        clock.advance(HOUR);
        await expect(stores.sessions.rotate(expiring.id, expiring.refreshJti, next(), { graceMs: GRACE_MS })).resolves.toEqual({
          kind: 'no_session',
        });
        await expect(stores.sessions.get(expiring.id)).resolves.toBeNull();
      });

      it('lets exactly one of 20 concurrent rotations of one token win; the others get its successor', async () => {
        const s = session();
        await stores.sessions.create(s);
        const successors = Array.from({ length: 20 }, () => next());

        const outcomes = await Promise.all(
          successors.map((successor) => stores.sessions.rotate(s.id, s.refreshJti, successor, { graceMs: GRACE_MS })),
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

      it('answers reused for a jti this session never issued, and ends the session', async () => {
        const s = session();
        await stores.sessions.create(s);

        const outcome = await stores.sessions.rotate(s.id, randomId(), next(), { graceMs: GRACE_MS });
        expect(outcome).toEqual({ kind: 'reused', session: expect.objectContaining({ id: s.id, userId: s.userId }) });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS })).resolves.toEqual({ kind: 'no_session' });
      });

      it('with no grace window, lets one of 20 concurrent rotations of one token win and ends the session for the replay', async () => {
        const s = session();
        await stores.sessions.create(s);

        const outcomes = await Promise.all(Array.from({ length: 20 }, () => stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: 0 })));
        const kinds = outcomes.map((o) => o.kind);
        expect(kinds.filter((kind) => kind === 'rotated')).toHaveLength(1);
        // The first loser is a replay and ends the session; the calls after it find no live
        // session left, which 'no_session' says (RotationOutcome): none may be granted anything.
        expect(kinds.filter((kind) => kind === 'reused').length).toBeGreaterThanOrEqual(1);
        expect(kinds.filter((kind) => kind !== 'rotated' && kind !== 'reused' && kind !== 'no_session')).toEqual([]);
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.get(s.id)).resolves.toBeNull();
      });
    });

    describe('refresh limit and idle timeout', () => {
      const WINDOW = 15 * 60_000;
      const limited = (max: number) => ({ graceMs: GRACE_MS, refreshLimit: { max, windowMs: WINDOW } });

      /** Rotates the session's chain `times` times under `policy`, one second apart; returns the current jti. */
      async function rotateTimes(s: SessionRecord, times: number, policy: ReturnType<typeof limited>): Promise<string> {
        let jti = s.refreshJti;
        for (let i = 0; i < times; i += 1) {
          clock.advanceSeconds(1);
          const successor = next();
          await expect(stores.sessions.rotate(s.id, jti, successor, policy)).resolves.toMatchObject({ kind: 'rotated' });
          jti = successor.jti;
        }
        return jti;
      }

      it('counts each rotation in the window the session opened at login', async () => {
        const s = session();
        await stores.sessions.create(s);
        clock.advanceSeconds(1);
        const first = await stores.sessions.rotate(s.id, s.refreshJti, next(), limited(3));
        expect(first).toMatchObject({ kind: 'rotated', session: { refreshWindowStart: s.createdAt, refreshCount: 1 } });
        clock.advanceSeconds(1);
        const second = await stores.sessions.rotate(s.id, (first as { session: SessionRecord }).session.refreshJti, next(), limited(3));
        expect(second).toMatchObject({ kind: 'rotated', session: { refreshWindowStart: s.createdAt, refreshCount: 2 } });
      });

      it('refuses a refresh beyond the limit with the time until the window ends, changing nothing', async () => {
        const s = session();
        await stores.sessions.create(s);
        const current = await rotateTimes(s, 3, limited(3));
        clock.advanceSeconds(10);

        const outcome = await stores.sessions.rotate(s.id, current, next(), limited(3));
        expect(outcome).toEqual({
          kind: 'rate_limited',
          session: expect.objectContaining({ id: s.id, refreshJti: current, refreshCount: 3, refreshWindowStart: s.createdAt }),
          retryAfterMs: s.createdAt + WINDOW - clock.now(),
        });
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: current, refreshCount: 3 });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(true);
      });

      it('opens a new window at the first refresh after the old one has passed: the refused token rotates then', async () => {
        const s = session();
        await stores.sessions.create(s);
        const current = await rotateTimes(s, 2, limited(2));
        clock.advance(s.createdAt + WINDOW - clock.now() - 1);
        await expect(stores.sessions.rotate(s.id, current, next(), limited(2))).resolves.toMatchObject({ kind: 'rate_limited', retryAfterMs: 1 });
        clock.advance(1);
        await expect(stores.sessions.rotate(s.id, current, next(), limited(2))).resolves.toMatchObject({
          kind: 'rotated',
          session: { refreshWindowStart: clock.now(), refreshCount: 1 },
        });
      });

      it('answers grace even with the limit used up, and does not count it: it mints no refresh token', async () => {
        const s = session();
        await stores.sessions.create(s);
        await stores.sessions.rotate(s.id, s.refreshJti, next(), limited(1));
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), limited(1))).resolves.toMatchObject({
          kind: 'grace',
          session: { refreshCount: 1 },
        });
        await expect(stores.sessions.get(s.id)).resolves.toMatchObject({ refreshCount: 1 });
      });

      it('still ends the session for a replay once the limit is used up', async () => {
        const s = session();
        await stores.sessions.create(s);
        await rotateTimes(s, 2, limited(2));
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), limited(2))).resolves.toMatchObject({ kind: 'reused' });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
      });

      it('lets the last refresh of the window rotate once among 10 concurrent ones (the others are grace), then refuses', async () => {
        const s = session();
        await stores.sessions.create(s);
        const current = await rotateTimes(s, 3, limited(4));
        const outcomes = await Promise.all(Array.from({ length: 10 }, () => stores.sessions.rotate(s.id, current, next(), limited(4))));
        expect(outcomes.map((o) => o.kind).sort()).toEqual(['rotated', ...Array(9).fill('grace')].sort());
        const winner = outcomes.find((o) => o.kind === 'rotated') as { session: SessionRecord };
        expect(winner.session.refreshCount).toBe(4);
        await expect(stores.sessions.rotate(s.id, winner.session.refreshJti, next(), limited(4))).resolves.toMatchObject({
          kind: 'rate_limited',
        });
      });

      it('rotates a session stored before the limit existed (no window yet) and opens its first window', async () => {
        const s = session({ refreshWindowStart: 0, refreshCount: 0 });
        await stores.sessions.create(s);
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), limited(1))).resolves.toMatchObject({
          kind: 'rotated',
          session: { refreshWindowStart: clock.now(), refreshCount: 1 },
        });
      });

      it('ends a session idle for the timeout whatever token is presented, and answers idle', async () => {
        const IDLE = 2 * HOUR;
        const s = session();
        await stores.sessions.create(s);
        clock.advance(IDLE);

        const outcome = await stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS, idleTimeoutMs: IDLE });
        expect(outcome).toEqual({ kind: 'idle', session: expect.objectContaining({ id: s.id, userId: s.userId }) });
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(false);
        await expect(stores.sessions.get(s.id)).resolves.toBeNull();
        await expect(stores.sessions.rotate(s.id, s.refreshJti, next(), { graceMs: GRACE_MS })).resolves.toEqual({ kind: 'no_session' });
      });

      it('keeps a session used within the timeout: each refresh starts its idle time again', async () => {
        const IDLE = 2 * HOUR;
        const policy = { graceMs: GRACE_MS, idleTimeoutMs: IDLE };
        const s = session();
        await stores.sessions.create(s);
        let jti = s.refreshJti;
        for (let i = 0; i < 3; i += 1) {
          clock.advance(IDLE - 1);
          const successor = next();
          await expect(stores.sessions.rotate(s.id, jti, successor, policy)).resolves.toMatchObject({
            kind: 'rotated',
            session: { lastUsedAt: clock.now() },
          });
          jti = successor.jti;
        }
        await expect(stores.sessions.isActive(s.id)).resolves.toBe(true);
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

    describe('one-time tokens', () => {
      it('gives a token out once: the first consume returns its record, later ones null', async () => {
        const t = token();
        await stores.oneTimeTokens.create(t);
        await expect(stores.oneTimeTokens.consume(t.hash, t.purpose)).resolves.toEqual(t);
        await expect(stores.oneTimeTokens.consume(t.hash, t.purpose)).resolves.toBeNull();
      });

      it('answers null for an unknown hash', async () => {
        await expect(stores.oneTimeTokens.consume(randomId(), 'password_reset')).resolves.toBeNull();
      });

      it('keeps its own copy of the given record', async () => {
        const t = token();
        const original = { ...t };
        await stores.oneTimeTokens.create(t);
        (t as { userId: string }).userId = 'changed-after-create';
        await expect(stores.oneTimeTokens.consume(original.hash, original.purpose)).resolves.toEqual(original);
      });

      it('lets exactly one of 20 concurrent consumes of one token have it', async () => {
        const t = token();
        await stores.oneTimeTokens.create(t);
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.oneTimeTokens.consume(t.hash, t.purpose)));
        expect(results.filter((r) => r !== null)).toEqual([t]);
      });

      it('answers null for the token asked for under another purpose, and leaves it to be used', async () => {
        const t = token({ purpose: 'email_verification' });
        await stores.oneTimeTokens.create(t);
        await expect(stores.oneTimeTokens.consume(t.hash, 'password_reset')).resolves.toBeNull();
        await expect(stores.oneTimeTokens.consume(t.hash, 'email_verification')).resolves.toEqual(t);
      });

      it('answers null once the clock reaches expiresAt, not before', async () => {
        const early = token({ expiresAt: clock.now() + HOUR });
        const late = token({ expiresAt: clock.now() + HOUR });
        await stores.oneTimeTokens.create(early);
        await stores.oneTimeTokens.create(late);
        clock.advance(HOUR - 1);
        await expect(stores.oneTimeTokens.consume(early.hash, early.purpose)).resolves.toEqual(early);
        clock.advance(1);
        await expect(stores.oneTimeTokens.consume(late.hash, late.purpose)).resolves.toBeNull();
        await expect(stores.oneTimeTokens.consume(late.hash, late.purpose)).resolves.toBeNull();
      });

      it("voids only the user's outstanding tokens of that purpose, and says how many", async () => {
        const userId = randomId();
        const resets = [token({ userId }), token({ userId })];
        const expired = token({ userId, expiresAt: clock.now() + 1000 });
        const verification = token({ userId, purpose: 'email_verification' });
        const stranger = token();
        for (const t of [...resets, expired, verification, stranger]) await stores.oneTimeTokens.create(t);
        clock.advance(1000);

        // The expired one was no longer outstanding: it is not counted.
        await expect(stores.oneTimeTokens.deleteForUser(userId, 'password_reset')).resolves.toBe(2);
        for (const t of [...resets, expired]) await expect(stores.oneTimeTokens.consume(t.hash, t.purpose)).resolves.toBeNull();
        await expect(stores.oneTimeTokens.consume(verification.hash, verification.purpose)).resolves.toEqual(verification);
        await expect(stores.oneTimeTokens.consume(stranger.hash, stranger.purpose)).resolves.toEqual(stranger);
        await expect(stores.oneTimeTokens.deleteForUser(userId, 'password_reset')).resolves.toBe(0);
        await expect(stores.oneTimeTokens.deleteForUser(randomId(), 'email_verification')).resolves.toBe(0);
      });

      it('does not count a token already consumed', async () => {
        const userId = randomId();
        const [used, open] = [token({ userId }), token({ userId })];
        await stores.oneTimeTokens.create(used);
        await stores.oneTimeTokens.create(open);
        await stores.oneTimeTokens.consume(used.hash, used.purpose);
        await expect(stores.oneTimeTokens.deleteForUser(userId, 'password_reset')).resolves.toBe(1);
      });
    });

    describe('second factors', () => {
      it('stores a pending factor and gives back copies of it', async () => {
        const pending = factor({ recoveryCodeHashes: ['a', 'b'] });
        await expect(stores.mfa.putPending(pending)).resolves.toBe('stored');
        const found = (await stores.mfa.get(pending.userId))!;
        expect(found).toEqual(pending);
        (found as { secretCiphertext: string }).secretCiphertext = 'changed-after-get';
        (found.recoveryCodeHashes as string[]).push('c');
        await expect(stores.mfa.get(pending.userId)).resolves.toEqual(pending);
        await expect(stores.mfa.get(randomId())).resolves.toBeNull();
      });

      it('replaces a pending factor with a newer enrolment, whose secret alone then confirms', async () => {
        const older = factor();
        const newer = factor({ userId: older.userId });
        await stores.mfa.putPending(older);
        await expect(stores.mfa.putPending(newer)).resolves.toBe('stored');
        await expect(stores.mfa.get(older.userId)).resolves.toEqual(newer);

        await expect(stores.mfa.confirm(older.userId, older.secretCiphertext, [], 10)).resolves.toBe(false);
        await expect(stores.mfa.get(older.userId)).resolves.toEqual(newer);
        await expect(stores.mfa.confirm(older.userId, newer.secretCiphertext, [], 10)).resolves.toBe(true);
      });

      it('refuses a pending factor over a confirmed one, changing nothing', async () => {
        const confirmed = await enrolled(['a']);
        await expect(stores.mfa.putPending(factor({ userId: confirmed.userId }))).resolves.toBe('already_enabled');
        await expect(stores.mfa.get(confirmed.userId)).resolves.toEqual(confirmed);
      });

      it('confirms the matching pending factor once, with its recovery codes and first step', async () => {
        const pending = factor();
        await stores.mfa.putPending(pending);
        await expect(stores.mfa.confirm(pending.userId, randomId(), ['x'], 55)).resolves.toBe(false);
        await expect(stores.mfa.get(pending.userId)).resolves.toEqual(pending);

        await expect(stores.mfa.confirm(pending.userId, pending.secretCiphertext, ['x', 'y'], 55)).resolves.toBe(true);
        const confirmed = { ...pending, confirmed: true, recoveryCodeHashes: ['x', 'y'], lastUsedStep: 55 };
        await expect(stores.mfa.get(pending.userId)).resolves.toEqual(confirmed);
        await expect(stores.mfa.confirm(pending.userId, pending.secretCiphertext, ['z'], 56)).resolves.toBe(false);
        await expect(stores.mfa.get(pending.userId)).resolves.toEqual(confirmed);
        await expect(stores.mfa.confirm(randomId(), pending.secretCiphertext, [], 55)).resolves.toBe(false);
      });

      it('accepts each later step once and never an equal or earlier one', async () => {
        const { userId } = await enrolled([], 100);
        await expect(stores.mfa.useStep(userId, 100)).resolves.toBe(false);
        await expect(stores.mfa.useStep(userId, 99)).resolves.toBe(false);
        await expect(stores.mfa.useStep(userId, 101)).resolves.toBe(true);
        await expect(stores.mfa.useStep(userId, 101)).resolves.toBe(false);
        await expect(stores.mfa.useStep(userId, 105)).resolves.toBe(true);
        await expect(stores.mfa.useStep(userId, 103)).resolves.toBe(false);
        await expect(stores.mfa.get(userId)).resolves.toMatchObject({ lastUsedStep: 105 });
      });

      it('accepts no step for a pending factor or a user without one', async () => {
        const pending = factor();
        await stores.mfa.putPending(pending);
        await expect(stores.mfa.useStep(pending.userId, 1)).resolves.toBe(false);
        await expect(stores.mfa.get(pending.userId)).resolves.toEqual(pending);
        await expect(stores.mfa.useStep(randomId(), 1)).resolves.toBe(false);
      });

      it('lets exactly one of 20 concurrent uses of one step succeed', async () => {
        const { userId } = await enrolled([], 100);
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.mfa.useStep(userId, 101)));
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(stores.mfa.get(userId)).resolves.toMatchObject({ lastUsedStep: 101 });
      });

      it('accepts each recovery code once', async () => {
        const { userId } = await enrolled(['a', 'b', 'c']);
        await expect(stores.mfa.useRecoveryCode(userId, 'b')).resolves.toBe(true);
        await expect(stores.mfa.useRecoveryCode(userId, 'b')).resolves.toBe(false);
        await expect(stores.mfa.useRecoveryCode(userId, 'unknown')).resolves.toBe(false);
        await expect(stores.mfa.get(userId)).resolves.toMatchObject({ recoveryCodeHashes: ['a', 'c'] });
        await expect(stores.mfa.useRecoveryCode(userId, 'a')).resolves.toBe(true);
        await expect(stores.mfa.useRecoveryCode(userId, 'c')).resolves.toBe(true);
        await expect(stores.mfa.get(userId)).resolves.toMatchObject({ recoveryCodeHashes: [] });
        await expect(stores.mfa.useRecoveryCode(userId, 'c')).resolves.toBe(false);
      });

      it('accepts no recovery code of a pending factor', async () => {
        const pending = factor({ recoveryCodeHashes: ['a'] });
        await stores.mfa.putPending(pending);
        await expect(stores.mfa.useRecoveryCode(pending.userId, 'a')).resolves.toBe(false);
        await expect(stores.mfa.useRecoveryCode(randomId(), 'a')).resolves.toBe(false);
      });

      it('lets exactly one of 20 concurrent uses of one recovery code succeed', async () => {
        const { userId } = await enrolled(['a', 'b']);
        const results = await Promise.all(Array.from({ length: 20 }, () => stores.mfa.useRecoveryCode(userId, 'a')));
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(stores.mfa.get(userId)).resolves.toMatchObject({ recoveryCodeHashes: ['b'] });
      });

      it('deletes a factor, pending or confirmed, once; a new enrolment may then start', async () => {
        const confirmed = await enrolled(['a']);
        const pending = factor();
        await stores.mfa.putPending(pending);

        await expect(stores.mfa.delete(confirmed.userId)).resolves.toBe(true);
        await expect(stores.mfa.delete(pending.userId)).resolves.toBe(true);
        await expect(stores.mfa.get(confirmed.userId)).resolves.toBeNull();
        await expect(stores.mfa.get(pending.userId)).resolves.toBeNull();
        await expect(stores.mfa.delete(confirmed.userId)).resolves.toBe(false);
        await expect(stores.mfa.useStep(confirmed.userId, 5000)).resolves.toBe(false);
        await expect(stores.mfa.putPending(factor({ userId: confirmed.userId }))).resolves.toBe('stored');
      });
    });

    describe('upkeep', () => {
      it('answers ping', async () => {
        await expect(stores.ping()).resolves.toBeUndefined();
      });

      it('sweeps expired sessions, counters and one-time tokens out of storage, and keeps live ones', async () => {
        if (!hooks) {
          throw new Error(`${name}: runStoreContract needs a holds() hook to see that sweep() frees storage (see ContractHooks)`);
        }
        const live = session({ expiresAt: clock.now() + 2 * HOUR });
        const expiring = session({ userId: live.userId, expiresAt: clock.now() + HOUR });
        await stores.sessions.create(live);
        await stores.sessions.create(expiring);
        const [shortKey, longKey] = [randomId(), randomId()];
        await stores.rateLimits.increment(shortKey, HOUR);
        await stores.rateLimits.increment(longKey, 2 * HOUR);
        const [liveToken, expiringToken] = [token({ expiresAt: clock.now() + 2 * HOUR }), token({ expiresAt: clock.now() + HOUR })];
        await stores.oneTimeTokens.create(liveToken);
        await stores.oneTimeTokens.create(expiringToken);
        clock.advance(HOUR);

        const entry = (t: OneTimeTokenRecord): ExpiringEntry => ({ kind: 'oneTimeToken', purpose: t.purpose, hash: t.hash });
        const expired: ExpiringEntry[] = [
          { kind: 'session', id: expiring.id },
          { kind: 'rateLimit', key: shortKey },
          entry(expiringToken),
        ];
        const kept: ExpiringEntry[] = [{ kind: 'session', id: live.id }, { kind: 'rateLimit', key: longKey }, entry(liveToken)];
        const held = async (entries: ExpiringEntry[]) => Promise.all(entries.map((e) => hooks.holds(stores, e)));
        // Nothing has touched the expired entries: they are still there, for sweep() to drop.
        expect((await held(expired)).map((h) => h !== false)).toEqual([true, true, true]);

        await expect(stores.sweep()).resolves.toBeUndefined();
        // Gone, unless the storage drops them by itself (then sweep has nothing to do for them).
        expect((await held(expired)).map((h) => h === true)).toEqual([false, false, false]);
        expect((await held(kept)).map((h) => h !== false)).toEqual([true, true, true]);
        await expect(stores.sessions.get(live.id)).resolves.toEqual(live);
        await expect(stores.sessions.get(expiring.id)).resolves.toBeNull();
        expect((await stores.sessions.listByUser(live.userId)).map((s) => s.id)).toEqual([live.id]);
        await expect(stores.rateLimits.increment(longKey, 2 * HOUR)).resolves.toMatchObject({ totalHits: 2 });
        await expect(stores.rateLimits.increment(shortKey, HOUR)).resolves.toMatchObject({ totalHits: 1 });
        await expect(stores.oneTimeTokens.consume(expiringToken.hash, expiringToken.purpose)).resolves.toBeNull();
        await expect(stores.oneTimeTokens.consume(liveToken.hash, liveToken.purpose)).resolves.toEqual(liveToken);
      });
    });
  });
}
