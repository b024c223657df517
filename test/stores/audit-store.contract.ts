// The audit store contract: what every AuditStore (memory, Redis, SQL) must guarantee, run per implementation.
import { randomId } from '../../src/lib/random-id';
import { AUDIT_TEXT_LIMIT } from '../../src/stores/audit-events';
import type { AuditEventRecord, AuditEventType, AuditQuery, AuditStore, NewAuditEvent } from '../../src/stores/types';
import { FakeClock } from '../helpers/fake-clock';

/** One implementation's audit store, and what of its Stores the suite drives besides. */
export interface AuditHarness {
  audit: AuditStore;
  /** The Stores' sweep(), which must sweep the audit log where the store has a retention. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** What bounds the implementation's log: a count (memory, Redis) or an age swept away (a database). */
export type AuditBound = { kind: 'count' } | { kind: 'retention' };

export interface AuditContractOptions {
  /**
   * Builds an audit store on the clock with the given bound (a count for bounded stores, an age for
   * the others; the implementation uses the one it has). Storage may hold other tests' events,
   * except that a store opened with a count must start empty (its bound covers the whole log).
   */
  open(clock: FakeClock, bound: { maxEvents: number; retentionMs: number }): AuditHarness | Promise<AuditHarness>;
  bound: AuditBound;
}

const DAY = 86_400_000;
/** Large enough that no test reaches it unless it means to. */
const ROOMY = { maxEvents: 10_000, retentionMs: 90 * DAY };
const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function runAuditContract(name: string, options: AuditContractOptions): void {
  describe(`${name} audit store: the audit store contract`, () => {
    let clock: FakeClock;
    let harness: AuditHarness;
    let audit: AuditStore;
    const extra: AuditHarness[] = [];

    beforeEach(async () => {
      clock = new FakeClock();
      harness = await options.open(clock, ROOMY);
      audit = harness.audit;
    });

    afterEach(async () => {
      await Promise.all([harness, ...extra.splice(0)].map((h) => h.close()));
    });

    function event(overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
      return {
        type: 'login.succeeded',
        userId: randomId(),
        actorId: null,
        ip: '203.0.113.7',
        userAgent: 'audit-test/1.0',
        details: {},
        ...overrides,
      };
    }

    /** Follows the cursors from the newest page to the last; returns every page. */
    async function walk(query: Omit<AuditQuery, 'cursor'>, between?: () => Promise<void>): Promise<AuditEventRecord[][]> {
      const pages: AuditEventRecord[][] = [];
      let cursor: string | null = null;
      do {
        const page = await audit.list({ ...query, cursor });
        expect(page.events.length).toBeLessThanOrEqual(query.limit);
        pages.push(page.events);
        cursor = page.nextCursor;
        if (pages.length > 1000) throw new Error('the cursors never end');
        if (cursor !== null) await between?.();
      } while (cursor !== null);
      return pages;
    }

    function ids(events: AuditEventRecord[]): string[] {
      return events.map((e) => e.id);
    }

    /** Newest first: ids strictly decreasing, times never increasing. */
    function expectNewestFirst(events: AuditEventRecord[]): void {
      for (let i = 1; i < events.length; i += 1) {
        expect(events[i]!.id < events[i - 1]!.id).toBe(true);
        expect(events[i]!.at).toBeLessThanOrEqual(events[i - 1]!.at);
      }
    }

    describe('recording', () => {
      it('stamps the event with the clock and a fresh id, and lists it back exactly as it resolved', async () => {
        const given = event({ type: 'user.disabled', actorId: randomId(), details: { reason: 'compromised' } });
        const stored = await audit.record(given);
        expect(stored).toEqual({ ...given, id: expect.stringMatching(ID), at: clock.now() });
        await expect(audit.list({ limit: 10, userId: given.userId! })).resolves.toEqual({ events: [stored], nextCursor: null });
      });

      it('gives ids that sort as the events happened, across milliseconds and within one', async () => {
        const userId = randomId();
        const recorded: AuditEventRecord[] = [];
        for (const step of [0, 0, 0, 1, 0, 1000, 0]) {
          clock.advance(step);
          recorded.push(await audit.record(event({ userId })));
        }
        const sorted = [...ids(recorded)].sort();
        expect(ids(recorded)).toEqual(sorted);
        expect(new Set(ids(recorded)).size).toBe(recorded.length);
      });

      it('keeps an event without a user or an actor (a failed login for an unknown email)', async () => {
        const stored = await audit.record(event({ type: 'login.failed', userId: null, actorId: null, details: { email: 'nobody@example.com' } }));
        expect(stored).toMatchObject({ userId: null, actorId: null });
        const page = await audit.list({ limit: 200, type: 'login.failed', since: clock.now() });
        expect(page.events).toContainEqual(stored);
      });

      it('refuses an event type the contract does not name, and keeps nothing of it', async () => {
        const userId = randomId();
        await expect(audit.record(event({ userId, type: 'user.hacked' as AuditEventType }))).rejects.toThrow(RangeError);
        await expect(audit.list({ limit: 10, userId })).resolves.toEqual({ events: [], nextCursor: null });
      });

      it('round-trips details of every kind it keeps: strings, numbers, booleans and null', async () => {
        const details = {
          text: 'wrong password',
          empty: '',
          quoted: '"quotes", \\backslashes\\ and\nnew lines',
          unicode: 'Grüße 😀 ∑',
          zero: 0,
          count: 42,
          negative: -1.5,
          largest: Number.MAX_SAFE_INTEGER,
          tiny: 5e-324,
          yes: true,
          no: false,
          nothing: null,
        };
        // A "__proto__" key as parsed JSON has it (an own property; in a literal it would set the prototype).
        const given: Record<string, unknown> = { ...(JSON.parse('{"__proto__": "a detail, not a prototype"}') as object), ...details };
        expect(Object.keys(given)).toContain('__proto__');
        const userId = randomId();
        const stored = await audit.record(event({ userId, details: given as NewAuditEvent['details'] }));
        const [listed] = (await audit.list({ limit: 1, userId })).events;
        for (const record of [stored, listed!]) {
          expect(Object.keys(record.details).sort()).toEqual(Object.keys(given).sort());
          for (const [key, value] of Object.entries(given)) expect(Object.getOwnPropertyDescriptor(record.details, key)?.value).toBe(value);
          expect(Object.getPrototypeOf(record.details)).toBe(Object.prototype);
        }
      });

      it('stores nothing else: other properties of the event, and details that are not strings, numbers, booleans or null, are left out', async () => {
        const userId = randomId();
        const given = {
          ...event({ userId }),
          password: 'hunter2',
          token: 'eyJhbGciOi...',
          id: 'chosen-by-the-caller',
          at: 1,
          details: {
            kept: 'yes',
            nested: { password: 'hunter2' },
            list: ['a'],
            missing: undefined,
            notANumber: Number.NaN,
            infinite: Number.POSITIVE_INFINITY,
            call: () => 'x',
            big: 10n,
          },
        } as unknown as NewAuditEvent;
        const stored = await audit.record(given);
        const [listed] = (await audit.list({ limit: 1, userId })).events;
        for (const record of [stored, listed!]) {
          expect(Object.keys(record).sort()).toEqual(['actorId', 'at', 'details', 'id', 'ip', 'type', 'userAgent', 'userId']);
          expect(record.details).toEqual({ kept: 'yes' });
          expect(record.id).toMatch(ID);
          expect(record.at).toBe(clock.now());
        }
      });

      it(`cuts the address, the user agent and each detail string to ${AUDIT_TEXT_LIMIT} characters, never inside a character`, async () => {
        const userId = randomId();
        const long = 'x'.repeat(AUDIT_TEXT_LIMIT * 4);
        // An emoji is two UTF-16 units: one that would straddle the limit goes whole.
        const straddling = `${'y'.repeat(AUDIT_TEXT_LIMIT - 1)}😀tail`;
        const stored = await audit.record(event({ userId, ip: long, userAgent: long, details: { long, straddling, [long]: 1 } }));
        const [listed] = (await audit.list({ limit: 1, userId })).events;
        for (const record of [stored, listed!]) {
          expect(record.ip).toBe('x'.repeat(AUDIT_TEXT_LIMIT));
          expect(record.userAgent).toBe('x'.repeat(AUDIT_TEXT_LIMIT));
          expect(record.details).toEqual({
            long: 'x'.repeat(AUDIT_TEXT_LIMIT),
            straddling: 'y'.repeat(AUDIT_TEXT_LIMIT - 1),
            ['x'.repeat(AUDIT_TEXT_LIMIT)]: 1,
          });
        }
      });

      it('keeps text every store can hold: a NUL or a lone surrogate becomes U+FFFD, alike everywhere', async () => {
        const userId = randomId();
        const stored = await audit.record(
          event({ userId, userAgent: 'agent\u0000x', details: { nul: 'a\u0000b', lone: 'c\uD800d', pair: 'e\uD83D\uDE00f', [`k\u0000`]: true } }),
        );
        const [listed] = (await audit.list({ limit: 1, userId })).events;
        for (const record of [stored, listed!]) {
          expect(record.userAgent).toBe('agent\uFFFDx');
          expect(record.details).toEqual({ nul: 'a\uFFFDb', lone: 'c\uFFFDd', pair: 'e😀f', 'k\uFFFD': true });
        }
      });

      it('hands out copies: changing a returned or listed event does not change the store', async () => {
        const userId = randomId();
        const stored = await audit.record(event({ userId, details: { reason: 'original' } }));
        const expected = JSON.parse(JSON.stringify(stored)) as AuditEventRecord;
        (stored as { ip: string }).ip = 'changed';
        (stored.details as Record<string, unknown>).reason = 'changed';
        const [listed] = (await audit.list({ limit: 1, userId })).events;
        (listed!.details as Record<string, unknown>).reason = 'changed again';
        await expect(audit.list({ limit: 1, userId })).resolves.toEqual({ events: [expected], nextCursor: null });
      });
    });

    describe('pages', () => {
      it('lists newest first, events of one millisecond in the order they were recorded', async () => {
        const userId = randomId();
        const recorded: AuditEventRecord[] = [];
        for (const step of [0, 0, 0, 5, 0, 60_000]) {
          clock.advance(step);
          recorded.push(await audit.record(event({ userId, details: { n: recorded.length } })));
        }
        const { events, nextCursor } = await audit.list({ limit: 200, userId });
        expect(events).toEqual([...recorded].reverse());
        expect(nextCursor).toBeNull();
      });

      it('answers at most `limit` events, with a cursor while more follow and none on the last page', async () => {
        const userId = randomId();
        const recorded: AuditEventRecord[] = [];
        for (let i = 0; i < 5; i += 1) {
          clock.advance(1);
          recorded.push(await audit.record(event({ userId })));
        }
        const newest = [...recorded].reverse();
        const first = await audit.list({ limit: 2, userId });
        expect(first.events).toEqual(newest.slice(0, 2));
        expect(typeof first.nextCursor).toBe('string');
        const second = await audit.list({ limit: 2, userId, cursor: first.nextCursor });
        expect(second.events).toEqual(newest.slice(2, 4));
        await expect(audit.list({ limit: 2, userId, cursor: second.nextCursor })).resolves.toEqual({ events: newest.slice(4), nextCursor: null });
        // A page that ends exactly with the last match is the last page.
        await expect(audit.list({ limit: 5, userId })).resolves.toEqual({ events: newest, nextCursor: null });
        await expect(audit.list({ limit: 5, userId: randomId() })).resolves.toEqual({ events: [], nextCursor: null });
      });

      it('visits every event exactly once, newest first, when the cursors are followed over the whole log', async () => {
        const since = clock.now();
        const mine = new Set<string>();
        for (let i = 0; i < 7; i += 1) {
          clock.advance(i % 2);
          mine.add((await audit.record(event({ type: i % 2 ? 'logout' : 'login.succeeded' }))).id);
        }
        const all = (await walk({ limit: 2, since })).flat();
        expect(new Set(ids(all)).size).toBe(all.length);
        expectNewestFirst(all);
        expect(ids(all).filter((id) => mine.has(id))).toEqual([...mine].reverse());
      });

      it('visits every event that was there exactly once while others are recorded between the pages', async () => {
        const userId = randomId();
        const since = clock.now();
        const there: string[] = [];
        for (let i = 0; i < 9; i += 1) {
          if (i % 3 === 0) clock.advance(1);
          there.push((await audit.record(event({ userId }))).id);
        }
        let added = 0;
        const between = async () => {
          // Newer events, one in the millisecond the walk started from, one in a later one.
          await audit.record(event({ userId }));
          clock.advance(1);
          await audit.record(event({ userId }));
          added += 2;
        };
        for (const query of [{ limit: 2, userId }, { limit: 3, since }, { limit: 1, userId, type: 'login.succeeded' as const }]) {
          const seen = (await walk(query, between)).flat();
          expect(new Set(ids(seen)).size).toBe(seen.length);
          expectNewestFirst(seen);
          const wanted = new Set(there);
          expect(ids(seen).filter((id) => wanted.has(id))).toEqual([...there].reverse());
        }
        expect(added).toBeGreaterThan(0);
      });

      it('visits every event that was there exactly once while others are recorded concurrently', async () => {
        const userId = randomId();
        const there: string[] = [];
        for (let i = 0; i < 12; i += 1) there.push((await audit.record(event({ userId }))).id);
        const recording = Array.from({ length: 30 }, () => audit.record(event({ userId })));
        const [pages] = await Promise.all([walk({ limit: 2, userId }), ...recording]);
        const seen = pages.flat();
        expect(new Set(ids(seen)).size).toBe(seen.length);
        expectNewestFirst(seen);
        const wanted = new Set(there);
        expect(ids(seen).filter((id) => wanted.has(id))).toEqual([...there].reverse());
        // All 42 are there once the recording has settled.
        await expect(audit.list({ limit: 200, userId }).then((page) => page.events.length)).resolves.toBe(42);
      });

      it.each([1, 200])('accepts a page limit of %p', async (limit) => {
        await expect(audit.list({ limit, userId: randomId() })).resolves.toEqual({ events: [], nextCursor: null });
      });

      it.each([0, -1, 201, 1.5, Number.NaN])('refuses a page limit of %p: the contract allows 1 to 200', async (limit) => {
        await expect(audit.list({ limit })).rejects.toThrow(RangeError);
      });

      it.each([
        'not-a-cursor',
        '-',
        "' or 1=1 --",
        '01ARZ3NDEKTSV4RRFFQ69G5FA',
        '01ARZ3NDEKTSV4RRFFQ69G5FAVX',
        '01arz3ndektsv4rrffq69g5fav',
        '01ARZ3NDEKTSV4RRFFQ69G5FAU',
        '01ARZ3NDEKTSV4RRFFQ69G5FA\u0000',
        '1700000000000.abc',
      ])('refuses the cursor %j it never handed out as invalid_request', async (cursor) => {
        await expect(audit.list({ limit: 1, cursor })).rejects.toMatchObject({
          code: 'invalid_request',
          status: 400,
          description: 'The cursor is not valid.',
        });
      });

      it.each([
        ['since', 1.5],
        ['until', Number.NaN],
        ['since', Number.POSITIVE_INFINITY],
      ])('refuses %s=%p: times are whole milliseconds', async (field, value) => {
        await expect(audit.list({ limit: 1, [field]: value })).rejects.toThrow(RangeError);
      });
    });

    describe('filters', () => {
      /** Events of three users and three types, a second apart; returns them oldest first. */
      async function mixed() {
        const users = [randomId(), randomId(), randomId()];
        const types: AuditEventType[] = ['login.succeeded', 'login.failed', 'password.changed'];
        const start = clock.now();
        const recorded: AuditEventRecord[] = [];
        for (let i = 0; i < 9; i += 1) {
          clock.advance(1000);
          recorded.push(await audit.record(event({ userId: users[i % 3]!, type: types[Math.floor(i / 3)]!, details: { n: i } })));
        }
        return { users, types, start, recorded, newest: [...recorded].reverse() };
      }

      it('keeps one user’s events, across pages', async () => {
        const { users, newest } = await mixed();
        for (const userId of users) {
          const pages = await walk({ limit: 1, userId });
          expect(pages.flat()).toEqual(newest.filter((e) => e.userId === userId));
        }
      });

      it('keeps one type’s events, across pages', async () => {
        const { types, start, newest } = await mixed();
        const mine = new Set(ids(newest));
        for (const type of types) {
          const seen = (await walk({ limit: 2, type, since: start })).flat();
          expect(seen.every((e) => e.type === type)).toBe(true);
          expectNewestFirst(seen);
          expect(seen.filter((e) => mine.has(e.id))).toEqual(newest.filter((e) => e.type === type));
        }
      });

      it('keeps events from `since` (inclusive) until `until` (exclusive)', async () => {
        const { users, recorded } = await mixed();
        const mineOf = (events: AuditEventRecord[]) => events.filter((e) => users.includes(e.userId!));
        const at = recorded.map((e) => e.at);
        const between = await walk({ limit: 2, since: at[2]!, until: at[6]! });
        expect(mineOf(between.flat())).toEqual(recorded.slice(2, 6).reverse());
        const from = await walk({ limit: 200, since: at[7]! });
        expect(mineOf(from.flat())).toEqual(recorded.slice(7).reverse());
        // until alone reaches back to the oldest event: only this test's are checked.
        const upTo = await walk({ limit: 200, since: at[0]!, until: at[1]! + 1 });
        expect(mineOf(upTo.flat())).toEqual(recorded.slice(0, 2).reverse());
        const before = (await walk({ limit: 200, until: at[0]! })).flat();
        expect(before.every((e) => e.at < at[0]!)).toBe(true);
      });

      it('combines every filter: user, type, since and until', async () => {
        const { users, recorded } = await mixed();
        // users[1] has events 1 (login.succeeded), 4 (login.failed) and 7 (password.changed).
        const page = await audit.list({ limit: 200, userId: users[1]!, type: 'login.failed', since: recorded[0]!.at, until: recorded[8]!.at });
        expect(page).toEqual({ events: [recorded[4]], nextCursor: null });
        await expect(audit.list({ limit: 200, userId: users[1]!, type: 'login.failed', since: recorded[5]!.at })).resolves.toEqual({
          events: [],
          nextCursor: null,
        });
        await expect(audit.list({ limit: 200, userId: users[1]!, type: 'login.failed', until: recorded[4]!.at })).resolves.toEqual({
          events: [],
          nextCursor: null,
        });
        await expect(audit.list({ limit: 200, userId: users[0]!, type: 'login.failed' })).resolves.toEqual({
          events: [recorded[3]],
          nextCursor: null,
        });
      });

      it('pages filtered by user and type through many events of that user that do not match', async () => {
        const userId = randomId();
        const wanted: AuditEventRecord[] = [];
        for (let i = 0; i < 450; i += 1) {
          const type: AuditEventType = i % 150 === 0 ? 'mfa.failed' : 'login.succeeded';
          const stored = await audit.record(event({ userId, type }));
          if (type === 'mfa.failed') wanted.push(stored);
        }
        const pages = await walk({ limit: 1, userId, type: 'mfa.failed' });
        expect(pages.flat()).toEqual(wanted.reverse());
      }, 30_000);

      it('answers an empty page when `since` is not before `until`, or the range is outside every event', async () => {
        const { users, recorded } = await mixed();
        const userId = users[0]!;
        const at = recorded[3]!.at;
        for (const range of [{ since: at, until: at }, { since: at + 1, until: at }, { until: 0 }, { until: -5 }, { since: 2 ** 52 }]) {
          await expect(audit.list({ limit: 200, userId, ...range })).resolves.toEqual({ events: [], nextCursor: null });
        }
        // Times before 1970 or far beyond any event bound nothing.
        await expect(audit.list({ limit: 200, userId, since: -1, until: 2 ** 52 })).resolves.toEqual({
          events: recorded.filter((e) => e.userId === userId).reverse(),
          nextCursor: null,
        });
      });

      it('goes on from a cursor after its filters change: a cursor is a place in the log', async () => {
        const { users, newest } = await mixed();
        const first = await audit.list({ limit: 1, userId: users[2]! });
        expect(first.events).toEqual([newest[0]]);
        const next = await audit.list({ limit: 200, userId: users[1]!, cursor: first.nextCursor });
        expect(next.events).toEqual(newest.filter((e) => e.userId === users[1]));
      });
    });

    if (options.bound.kind === 'count') {
      describe('bound', () => {
        async function bounded(maxEvents: number): Promise<AuditStore> {
          const opened = await options.open(clock, { maxEvents, retentionMs: ROOMY.retentionMs });
          extra.push(opened);
          return opened.audit;
        }

        it('keeps the newest events up to its bound and drops the oldest, from every filter', async () => {
          const store = await bounded(5);
          const [alice, bob] = [randomId(), randomId()];
          const recorded: AuditEventRecord[] = [];
          for (let i = 0; i < 8; i += 1) {
            clock.advance(1);
            const type: AuditEventType = i < 2 ? 'user.created' : 'login.succeeded';
            recorded.push(await store.record(event({ userId: i % 2 ? bob : alice, type })));
          }
          const kept = recorded.slice(3).reverse();
          await expect(store.list({ limit: 200 })).resolves.toEqual({ events: kept, nextCursor: null });
          await expect(store.list({ limit: 200, userId: alice })).resolves.toEqual({ events: kept.filter((e) => e.userId === alice), nextCursor: null });
          await expect(store.list({ limit: 200, type: 'user.created' })).resolves.toEqual({ events: [], nextCursor: null });
          await expect(store.list({ limit: 200, since: recorded[0]!.at, until: recorded[3]!.at })).resolves.toEqual({ events: [], nextCursor: null });
        });

        it('never holds more than its bound, even under concurrent recording', async () => {
          const store = await bounded(10);
          await Promise.all(Array.from({ length: 50 }, (_, i) => store.record(event({ userId: null, details: { i } }))));
          const { events } = await store.list({ limit: 200 });
          expect(events).toHaveLength(10);
          expectNewestFirst(events);
        });

        it('drops events only for the bound, never for their age', async () => {
          const store = await bounded(5);
          const userId = randomId();
          const old = await store.record(event({ userId }));
          clock.advance(10 * 365 * DAY);
          await extra[extra.length - 1]!.sweep();
          await expect(store.list({ limit: 5, userId })).resolves.toEqual({ events: [old], nextCursor: null });
        });
      });
    } else {
      describe('retention', () => {
        it('drops the events past the retention on its clock when the stores sweep, and keeps the rest', async () => {
          const opened = await options.open(clock, { maxEvents: ROOMY.maxEvents, retentionMs: DAY });
          extra.push(opened);
          const userId = randomId();
          const oldest = await opened.audit.record(event({ userId }));
          clock.advance(1);
          const edge = await opened.audit.record(event({ userId }));
          clock.advance(3_600_000);
          const recent = await opened.audit.record(event({ userId }));

          clock.advance(DAY - 3_600_000);
          // `edge` is exactly a day old now: kept; `oldest` a millisecond more: gone.
          await opened.sweep();
          await expect(opened.audit.list({ limit: 200, userId })).resolves.toEqual({ events: [recent, edge], nextCursor: null });
          clock.advance(3_600_000 + 1);
          await opened.sweep();
          await expect(opened.audit.list({ limit: 200, userId })).resolves.toEqual({ events: [], nextCursor: null });
          expect(oldest.at).toBeLessThan(edge.at);
        });

        it('keeps any number of events within the retention', async () => {
          const opened = await options.open(clock, { maxEvents: 3, retentionMs: DAY });
          extra.push(opened);
          const userId = randomId();
          for (let i = 0; i < 8; i += 1) await opened.audit.record(event({ userId }));
          await opened.sweep();
          await expect(opened.audit.list({ limit: 200, userId }).then((page) => page.events.length)).resolves.toBe(8);
        });
      });
    }
  });
}
