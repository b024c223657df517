// The Redis stores: the shared store contract against a real Redis and a Redis Cluster, plus what only Redis has (TTLs, the revocation feed, outages).
import type { Cluster, Redis } from 'ioredis';
import { AppError } from '../../src/errors';
import { randomId } from '../../src/lib/random-id';
import { createRedisStores, RedisAuditStore, RedisSessionStore, RedisUserStore, type RedisStores } from '../../src/stores/redis';
import { createLogger } from '../../src/lib/logger';
import { redisKeys, type KeyLayout } from '../../src/stores/redis/keys';
import { END_USER_SESSIONS, REMEMBER_REVOKED } from '../../src/stores/redis/session-scripts';
import { Redis as PlainRedis } from 'ioredis';
import type { UserChangeFeed } from '../../src/stores/user-copy';
import type { SessionRecord, UserRecord } from '../../src/stores/types';
import { FakeClock } from '../helpers/fake-clock';
import { eventually } from '../helpers/eventually';
import { deleteKeys, describeWithRedis, describeWithRedisCluster, inspector, openRedisStores, uniquePrefix } from '../helpers/redis';
import { TcpProxy } from '../helpers/tcp-proxy';
import { runAuditContract } from './audit-store.contract';
import { runStoreContract, type ExpiringEntry } from './session-store.contract';
import { sessionRecord, userRecord as aUserRecord } from '../helpers/store-records';

const HOUR = 3_600_000;
const MARGIN = 60_000;
const ACCESS_TTL = 15 * 60_000;
/** Time that may pass between computing an expected TTL and Redis reporting it (a bound, not a speed test). */
const SLACK = 10_000;

describeWithRedis('Redis stores', (url) => redisStoreSuite(url, 'single'));
describeWithRedisCluster('Redis stores on a Redis Cluster', (url) => redisStoreSuite(url, 'cluster'));

function redisStoreSuite(url: string, layout: KeyLayout): void {
  // A step only the cluster layout takes (one Redis does it in one script): declared for the cluster run only, not reported as skipped on one Redis.
  const clusterOnly = (name: string, test: () => Promise<void>, timeout?: number) => {
    if (layout === 'cluster') it(name, test, timeout);
  };
  const prefix = uniquePrefix();
  const keys = redisKeys(prefix, layout);
  let redis: Redis | Cluster;
  const opened: RedisStores[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(() => {
    redis = inspector(url);
  });

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await Promise.all(opened.splice(0).map((stores) => stores.close()));
  });

  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(url, prefix);
  });

  /**
   * Whether the entry's key is still in Redis: a key with a TTL is Redis's to drop (on the real
   * clock, which the tests do not move), one without would stay until something deletes it.
   */
  async function holds(_stores: unknown, entry: ExpiringEntry): Promise<boolean | 'expires-itself'> {
    let key: string;
    if (entry.kind === 'session') {
      // On one Redis the hash's name needs no user id; on a cluster the sessionUser key gives it.
      const userId = layout === 'cluster' ? await redis.get(keys.sessionUser(entry.id)) : '';
      if (userId === null) return false;
      key = keys.session(userId, entry.id);
    } else {
      key =
        entry.kind === 'rateLimit'
          ? keys.rateLimit(entry.key)
          : keys.oneTimeToken(entry.purpose, entry.hash);
    }
    const ttl = await redis.pttl(key);
    return ttl === -2 ? false : ttl > 0 ? 'expires-itself' : true;
  }

  runStoreContract('Redis', (clock: FakeClock) => openRedisStores(url, prefix, clock), { holds });

  /** How many of the keys exist, asked one by one (a cluster takes keys of one slot per command). */
  async function existing(...names: string[]): Promise<number> {
    const counts = await Promise.all(names.map((name) => redis.exists(name)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Full stores under a prefix of their own (below the file's, so afterAll deletes it): a bounded log starts empty. */
  async function auditStores(clock: FakeClock, auditMaxEvents?: number, keyPrefix = `${prefix}${randomId()}:`): Promise<RedisStores> {
    const stores = createRedisStores({ url, keyPrefix, clock, accessTtlMs: ACCESS_TTL, logger: createLogger('silent'), auditMaxEvents });
    opened.push(stores);
    await stores.whenReady(5000);
    return stores;
  }

  runAuditContract('Redis', {
    async open(clock, { maxEvents }) {
      const stores = await auditStores(clock, maxEvents);
      // This file's afterEach closes them.
      return { audit: stores.audit, sweep: () => stores.sweep(), close: async () => undefined };
    },
    bound: { kind: 'count' },
  });

  describe('the audit log in Redis', () => {
    const event = (userId: string | null, type: 'login.succeeded' | 'logout') => ({
      type, userId, actorId: null, ip: '127.0.0.1', userAgent: 'jest', details: { n: 1 },
    });

    it('trims the events hash and every index with the log, in the step that records', async () => {
      const clock = new FakeClock();
      const auditPrefix = `${prefix}${randomId()}:`;
      const stores = await auditStores(clock, 4, auditPrefix);
      expect(stores.audit).toBeInstanceOf(RedisAuditStore);
      const [alice, bob] = [randomId(), randomId()];
      // Alice's two events are the oldest: once trimmed, her index is gone with them.
      for (const [userId, type] of [[alice, 'logout'], [alice, 'login.succeeded'], [bob, 'logout'], [null, 'logout'], [bob, 'login.succeeded'], [bob, 'logout']] as const) {
        clock.advance(1);
        await stores.audit.record(event(userId, type));
      }
      const auditKeys = redisKeys(auditPrefix, layout);
      await expect(redis.zcard(auditKeys.auditLog)).resolves.toBe(4);
      await expect(redis.hlen(auditKeys.auditEvents)).resolves.toBe(4);
      await expect(redis.exists(auditKeys.auditByUser(alice))).resolves.toBe(0);
      await expect(redis.zcard(auditKeys.auditByUser(bob))).resolves.toBe(3);
      await expect(redis.zcard(auditKeys.auditByType('logout'))).resolves.toBe(3);
      await expect(redis.zcard(auditKeys.auditByType('login.succeeded'))).resolves.toBe(1);
      const logged = (await redis.zrange(auditKeys.auditLog, '0', '-1')).map((member) => member.slice(0, 26));
      expect((await redis.hkeys(auditKeys.auditEvents)).sort()).toEqual(logged);
    });

    // Outages are staged through a TCP proxy in front of one Redis: a cluster client learns the
    // nodes' own addresses from the cluster and would go around it.
    if (layout === 'single') {
      it('answers 503 unavailable (AppError) when Redis is away, and records again once it is back', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const stores = await openRedisStores(link.urlFor(url), `${prefix}${randomId()}:`, clock, ACCESS_TTL);
        opened.push(stores);
        link.set('down');
        const unavailable = expect.objectContaining({ code: 'unavailable', status: 503 });
        await expect(stores.audit.record(event(null, 'logout'))).rejects.toEqual(unavailable);
        await expect(stores.audit.list({ limit: 1 })).rejects.toEqual(unavailable);
        link.set('up');
        await eventually(async () => stores.ping().then(() => true, () => false));
        const stored = await stores.audit.record(event(null, 'logout'));
        await expect(stores.audit.list({ limit: 1 })).resolves.toEqual({ events: [stored], nextCursor: null });
      });
    }
  });

  /** An instance's stores; `through` routes its connections through a proxy the test controls. */
  async function instance(clock: FakeClock, options: { keyPrefix?: string; through?: TcpProxy } = {}) {
    const target = options.through ? options.through.urlFor(url) : url;
    const stores = await openRedisStores(target, options.keyPrefix ?? prefix, clock, ACCESS_TTL);
    opened.push(stores);
    return stores;
  }

  async function proxy(): Promise<TcpProxy> {
    const started = await TcpProxy.start(url);
    proxies.push(started);
    return started;
  }

  function session(clock: FakeClock, overrides: Partial<SessionRecord> = {}): SessionRecord {
    return sessionRecord(clock.now(), overrides);
  }

  function userRecord(overrides: Partial<UserRecord> = {}): UserRecord {
    return aUserRecord(1_700_000_000_000, { passwordHash: 'x', ...overrides });
  }

  describe('what Redis holds, and for how long', () => {
    it('keeps a session as a hash of its record (token ids only) that expires a margin after the session', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const s = session(clock, { expiresAt: clock.now() + 2 * HOUR });
      await stores.sessions.create(s);

      const fields = await redis.hgetall(keys.session(s.userId, s.id));
      expect(Object.keys(fields).sort()).toEqual(
        [
          'createdAt', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'previousJti', 'refreshCount', 'refreshIat', 'refreshJti',
          'refreshWindowStart', 'rotatedAt', 'userAgent', 'userId',
        ],
      );
      expect(fields).toMatchObject({ refreshJti: s.refreshJti, previousJti: '', expiresAt: String(s.expiresAt) });
      const expected = 2 * HOUR + MARGIN;
      const ttl = await redis.pttl(keys.session(s.userId, s.id));
      expect(ttl).toBeLessThanOrEqual(expected);
      expect(ttl).toBeGreaterThan(expected - SLACK);
      const indexTtl = await redis.pttl(keys.userSessions(s.userId));
      expect(indexTtl).toBeLessThanOrEqual(expected);
      expect(indexTtl).toBeGreaterThan(expected - SLACK);
    });

    it('rotates a session stored before the refresh limit existed (a hash without the window fields)', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const s = session(clock);
      await stores.sessions.create(s);
      await redis.hdel(keys.session(s.userId, s.id), 'refreshWindowStart', 'refreshCount');
      clock.advanceSeconds(5);

      const policy = { graceMs: 10_000, refreshLimit: { max: 1, windowMs: HOUR } };
      await expect(stores.sessions.rotate(s.id, s.refreshJti, { jti: randomId(), iat: 0 }, policy)).resolves.toMatchObject({
        kind: 'rotated',
        session: { refreshWindowStart: clock.now(), refreshCount: 1 },
      });
      await expect(redis.hmget(keys.session(s.userId, s.id), 'refreshWindowStart', 'refreshCount')).resolves.toEqual([String(clock.now()), '1']);
    });

    it("keeps a user's session index alive as long as the user's longest session", async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const userId = randomId();
      await stores.sessions.create(session(clock, { userId, expiresAt: clock.now() + 5 * HOUR }));
      await stores.sessions.create(session(clock, { userId, expiresAt: clock.now() + HOUR }));

      const ttl = await redis.pttl(keys.userSessions(userId));
      expect(ttl).toBeLessThanOrEqual(5 * HOUR + MARGIN);
      expect(ttl).toBeGreaterThan(5 * HOUR + MARGIN - SLACK);
    });

    it('drops an ended session at once, and remembers its id as revoked until its last access token has expired', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const s = session(clock);
      await stores.sessions.create(s);
      await stores.sessions.end(s.id);

      await expect(redis.exists(keys.session(s.userId, s.id))).resolves.toBe(0);
      await expect(redis.zscore(keys.userSessions(s.userId), s.id)).resolves.toBeNull();
      await expect(redis.zscore(keys.revoked, s.id)).resolves.toBe(String(clock.now() + ACCESS_TTL + MARGIN));
      const ttl = await redis.pttl(keys.revoked);
      expect(ttl).toBeLessThanOrEqual(ACCESS_TTL + MARGIN);
      expect(ttl).toBeGreaterThan(ACCESS_TTL + MARGIN - SLACK);
    });

    it("leaves no key of a user's sessions ended together, and remembers each as revoked", async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const userId = randomId();
      const both = [session(clock, { userId }), session(clock, { userId })];
      for (const s of both) await stores.sessions.create(s);
      if (layout === 'cluster') {
        // The key that finds a session's slot lives as long as the session, and no longer.
        const ttl = await redis.pttl(keys.sessionUser(both[0]!.id));
        expect(ttl).toBeLessThanOrEqual(both[0]!.expiresAt - clock.now() + MARGIN);
        expect(ttl).toBeGreaterThan(both[0]!.expiresAt - clock.now() + MARGIN - SLACK);
      }

      await expect(stores.sessions.endAllForUser(userId)).resolves.toBe(2);
      const names = both.flatMap((s) => [keys.session(userId, s.id), keys.sessionUser(s.id)]);
      await expect(existing(...names, keys.userSessions(userId))).resolves.toBe(0);
      for (const s of both) await expect(redis.zscore(keys.revoked, s.id)).resolves.toBe(String(clock.now() + ACCESS_TTL + MARGIN));
    });

    it('remembers a session that would expire sooner only until it expires', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const s = session(clock, { expiresAt: clock.now() + 60_000 });
      await stores.sessions.create(s);
      await stores.sessions.end(s.id);
      await expect(redis.zscore(keys.revoked, s.id)).resolves.toBe(String(s.expiresAt + MARGIN));
    });

    it('expires a rate-limit window a margin after it ends', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const key = randomId();
      await stores.rateLimits.increment(key, 15 * 60_000);
      const ttl = await redis.pttl(keys.rateLimit(key));
      expect(ttl).toBeLessThanOrEqual(15 * 60_000 + MARGIN);
      expect(ttl).toBeGreaterThan(15 * 60_000 + MARGIN - SLACK);
    });

    it('keeps users without an expiry', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const id = randomId();
      await stores.users.create({
        id,
        email: `${id.toLowerCase()}@example.com`,
        role: 'user',
        passwordHash: 'x',
        createdAt: clock.now(),
        emailVerified: false,
        disabled: false,
        lastLoginAt: null,
      });
      await expect(redis.pttl(keys.user(id))).resolves.toBe(-1);
    });

    it('keeps a user as one JSON record of every field; a deleted user leaves no key, index entry or place in the order', async () => {
      const stores = await instance(new FakeClock());
      const alice = userRecord({ lastLoginAt: 1_700_000_000_123 });
      await stores.users.create(alice);
      await expect(redis.get(keys.user(alice.id)).then((text) => JSON.parse(text!))).resolves.toEqual(alice);
      await stores.users.update(alice.id, { emailVerified: true, lastLoginAt: null });
      await expect(redis.get(keys.user(alice.id)).then((text) => JSON.parse(text!))).resolves.toEqual({
        ...alice,
        emailVerified: true,
        lastLoginAt: null,
      });

      await stores.users.delete(alice.id);
      await expect(existing(keys.user(alice.id), keys.userByEmail(alice.email))).resolves.toBe(0);
      await expect(redis.zscore(keys.users, alice.id)).resolves.toBeNull();
    });

    it('reads and updates a user written before emailVerified, disabled and lastLoginAt existed', async () => {
      const stores = await instance(new FakeClock());
      const { emailVerified: _v, disabled: _d, lastLoginAt: _l, ...legacy } = userRecord();
      await redis.set(keys.user(legacy.id), JSON.stringify(legacy));
      await redis.set(keys.userByEmail(legacy.email), legacy.id);
      await redis.zadd(keys.users, await redis.incr(keys.userSequence), legacy.id);

      const upgraded = { ...legacy, emailVerified: false, disabled: false, lastLoginAt: null };
      await expect(stores.users.findByEmail(legacy.email)).resolves.toEqual(upgraded);
      await expect(stores.users.update(legacy.id, { role: 'admin' })).resolves.toEqual({ ...upgraded, role: 'admin' });
      await expect(stores.users.delete(legacy.id)).resolves.toBe(true);
      await expect(redis.exists(keys.userByEmail(legacy.email))).resolves.toBe(0);
    });

    it('keeps a one-time token as a hash that expires a margin after it, indexed under its user, and consuming leaves neither', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const userId = randomId();
      const token = { hash: randomId(), purpose: 'email_verification' as const, userId, createdAt: clock.now(), expiresAt: clock.now() + HOUR };
      await stores.oneTimeTokens.create(token);

      const key = keys.oneTimeToken('email_verification', token.hash);
      const index = keys.userOneTimeTokens('email_verification', userId);
      await expect(redis.hgetall(key)).resolves.toEqual({
        hash: token.hash,
        purpose: 'email_verification',
        userId,
        createdAt: String(token.createdAt),
        expiresAt: String(token.expiresAt),
      });
      for (const name of [key, index]) {
        const ttl = await redis.pttl(name);
        expect(ttl).toBeLessThanOrEqual(HOUR + MARGIN);
        expect(ttl).toBeGreaterThan(HOUR + MARGIN - SLACK);
      }
      await expect(redis.zscore(index, token.hash)).resolves.toBe(String(token.expiresAt));

      await stores.oneTimeTokens.consume(token.hash, token.purpose);
      await expect(existing(key, index)).resolves.toBe(0);
    });

    it('keeps a second factor as a hash without an expiry', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const userId = randomId();
      await stores.mfa.putPending({
        userId,
        secretCiphertext: 'cipher',
        confirmed: false,
        createdAt: clock.now(),
        lastUsedStep: null,
        recoveryCodeHashes: [],
      });
      await stores.mfa.confirm(userId, 'cipher', ['h1', 'h2'], 7);
      await expect(redis.hgetall(keys.mfa(userId))).resolves.toMatchObject({
        confirmed: '1',
        lastUsedStep: '7',
        recoveryCodeHashes: '["h1","h2"]',
      });
      await stores.mfa.useRecoveryCode(userId, 'h1');
      await stores.mfa.useRecoveryCode(userId, 'h2');
      await expect(redis.hget(keys.mfa(userId), 'recoveryCodeHashes')).resolves.toBe('[]');
      await expect(redis.pttl(keys.mfa(userId))).resolves.toBe(-1);
    });

    it('publishes the id of each user updated or deleted, in the step that changes it; nothing for an unknown id', async () => {
      const stores = await instance(new FakeClock());
      const listener = inspector(url);
      const heard: string[] = [];
      listener.on('message', (_channel: string, message: string) => heard.push(message));
      await listener.subscribe(keys.userChangedChannel);
      try {
        const alice = userRecord();
        await stores.users.create(alice);
        await stores.users.update(randomId(), { role: 'admin' });
        await stores.users.delete(randomId());
        await stores.users.update(alice.id, { role: 'admin' });
        await stores.users.delete(alice.id);
        await eventually(() => heard.length >= 2);
        expect(heard).toEqual([alice.id, alice.id]);
      } finally {
        listener.disconnect();
      }
    });
  });

  describe('steps that span several keys', () => {
    // The cluster layout's script: on one Redis the script reads the index itself, in its one step.
    clusterOnly('refuses to end the sessions of a user when one was created after the caller read the index, changing nothing', async () => {
      const clock = new FakeClock();
      const stores = await instance(clock);
      const userId = randomId();
      const older = session(clock, { userId });
      await stores.sessions.create(older);
      clock.advance(1);
      const newer = session(clock, { userId });
      await stores.sessions.create(newer);

      // What endAllForUser() would send had it read the index before `newer` was created.
      const reply = await END_USER_SESSIONS.run(
        redis,
        [keys.userSessions(userId), keys.session(userId, older.id)],
        [keys.revokedChannel, clock.now(), ACCESS_TTL, MARGIN, '', older.id],
      );
      expect(reply).toEqual(['retry']);
      await expect(stores.sessions.listByUser(userId)).resolves.toEqual([older, newer]);
      // The store itself reads the index again and ends both.
      await expect(stores.sessions.endAllForUser(userId)).resolves.toBe(2);
      await expect(stores.sessions.listByUser(userId)).resolves.toEqual([]);
    });

    // Cluster layout only: on one Redis a delete is one step, so it leaves no claim behind.
    clusterOnly('registers an email whose claim was left behind by a delete cut short, and only then', async () => {
      const stores = await instance(new FakeClock());
      const gone = userRecord();
      const holder = userRecord();
      // A claim naming a user whose record is gone (the delete stopped after its first step).
      await redis.set(keys.userByEmail(gone.email), randomId());
      await expect(stores.users.create(gone)).resolves.toBe('created');
      await expect(stores.users.findByEmail(gone.email)).resolves.toEqual(gone);
      const listed: string[] = [];
      for (let cursor: string | null | undefined = undefined; cursor !== null; ) {
        const page = await stores.users.listPage({ limit: 200, cursor });
        listed.push(...page.users.map((user) => user.id));
        cursor = page.nextCursor;
      }
      expect(listed).toContain(gone.id);

      await stores.users.create(holder);
      const rival = userRecord({ email: holder.email });
      await expect(stores.users.create(rival)).resolves.toBe('email_taken');
      await expect(stores.users.findByEmail(holder.email)).resolves.toEqual(holder);
      // The loser leaves no record behind.
      await expect(redis.exists(keys.user(rival.id))).resolves.toBe(0);
    });

    it('registers one of 10 concurrent creates of one email', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const email = `${randomId().toLowerCase()}@example.com`;
      const rivals = Array.from({ length: 10 }, () => userRecord({ email }));
      const outcomes = await Promise.all(rivals.map((user, i) => (i % 2 === 0 ? a : b).users.create(user)));
      expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
      const winner = rivals[outcomes.indexOf('created')]!;
      await expect(b.users.findByEmail(email)).resolves.toEqual(winner);
      await expect(existing(...rivals.map((user) => keys.user(user.id)))).resolves.toBe(1);
    });

    it('keeps the bounded audit log and every index in step while two instances record into it', async () => {
      const clock = new FakeClock();
      const auditPrefix = `${prefix}${randomId()}:`;
      const [a, b] = [await auditStores(clock, 5, auditPrefix), await auditStores(clock, 5, auditPrefix)];
      const users = [randomId(), randomId(), randomId()];
      // Each instance's guess of what its next record trims is stale after the other's records.
      for (let i = 0; i < 24; i += 1) {
        clock.advance(1);
        await (i % 2 === 0 ? a : b).audit.record({
          type: i % 3 === 0 ? 'logout' : 'login.succeeded',
          userId: users[i % 3]!,
          actorId: null,
          ip: '127.0.0.1',
          userAgent: 'jest',
          details: {},
        });
      }
      const auditKeys = redisKeys(auditPrefix, layout);
      const logged = (await redis.zrange(auditKeys.auditLog, '0', '-1')).map((member) => member.slice(0, 26)).sort();
      expect(logged).toHaveLength(5);
      expect((await redis.hkeys(auditKeys.auditEvents)).sort()).toEqual(logged);
      const indexed = await Promise.all(
        [...users.map((user) => auditKeys.auditByUser(user)), auditKeys.auditByType('logout'), auditKeys.auditByType('login.succeeded')].map(
          (key) => redis.zrange(key, '0', '-1'),
        ),
      );
      // Each event is in its user's index and its type's, and no index keeps a trimmed event.
      expect(indexed.slice(0, 3).flat().sort()).toEqual(logged);
      expect(indexed.slice(3).flat().sort()).toEqual(logged);
      await expect(a.audit.list({ limit: 10 }).then((page) => page.events.map((event) => event.id).sort())).resolves.toEqual(logged);
    });

    if (layout === 'cluster') {
      it("keeps each user's sessions and session index in one slot, and spreads users over every primary", async () => {
        const clock = new FakeClock();
        const stores = await instance(clock);
        const sessions = Array.from({ length: 30 }, () => session(clock, { userId: randomId() }));
        for (const s of sessions) await stores.sessions.create(s);

        const slot = (key: string) => (redis as Cluster).cluster('KEYSLOT', key);
        for (const s of sessions) {
          await expect(slot(keys.session(s.userId, s.id))).resolves.toBe(await slot(keys.userSessions(s.userId)));
        }
        const primaries = (redis as Cluster).nodes('master');
        expect(primaries).toHaveLength(3);
        const held = await Promise.all(
          primaries.map(async (node) => {
            let [cursor, count] = ['0', 0];
            do {
              const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}{u:*}:session:*`, 'COUNT', 1000);
              [cursor, count] = [next, count + found.length];
            } while (cursor !== '0');
            return count;
          }),
        );
        expect(held.every((count) => count > 0)).toBe(true);
        expect(held.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(sessions.length);
      });
    }
  });

  describe('findings of the cluster review (each test fails without its fix)', () => {
    const auditEvent = (userId: string) => ({
      type: 'login.succeeded' as const, userId, actorId: null, ip: '127.0.0.1', userAgent: 'jest', details: {},
    });

    it('loses no audit event while eight instances record concurrently into a full log, and keeps every index in step', async () => {
      const clock = new FakeClock();
      const auditPrefix = `${prefix}${randomId()}:`;
      const bound = 20;
      const writers = await Promise.all(Array.from({ length: 8 }, () => auditStores(clock, bound, auditPrefix)));
      for (let i = 0; i < bound; i += 1) await writers[0]!.audit.record(auditEvent(`seed${i}`));
      const users = Array.from({ length: 320 }, () => randomId());
      // Eight instances, four concurrent callers each, each event by another user: every record trims an
      // event whose user index the recording instance has not seen.
      const outcomes = await Promise.allSettled(
        writers.flatMap((stores, w) =>
          Array.from({ length: 4 }, async (_, c) => {
            for (let j = 0; j < 10; j += 1) await stores.audit.record(auditEvent(users[w * 40 + c * 10 + j]!));
          }),
        ),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      // A cluster's log may stand a few events over its bound after such a storm (its writers'
      // last attempt trims only what it declared); the next record trims the rest.
      const last = randomId();
      users.push(last);
      await writers[1]!.audit.record(auditEvent(last));
      const auditKeys = redisKeys(auditPrefix, layout);
      const logged = (await redis.zrange(auditKeys.auditLog, '0', '-1')).map((member) => member.slice(0, 26)).sort();
      expect(logged).toHaveLength(bound);
      expect((await redis.hkeys(auditKeys.auditEvents)).sort()).toEqual(logged);
      const byUser = await Promise.all(users.map((user) => redis.zrange(auditKeys.auditByUser(user), '0', '-1')));
      expect(byUser.flat().sort()).toEqual(logged);
      await expect(redis.zrange(auditKeys.auditByType('login.succeeded'), '0', '-1').then((ids) => ids.sort())).resolves.toEqual(logged);
    });

    it('never drops an audit event silently: after its attempts a record is a 503, counted and logged without details', async () => {
      const errors: unknown[][] = [];
      const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as ReturnType<typeof createLogger>;
      // A Redis whose log is always trimmed by someone else first (the cluster layout's reply).
      const client = { evalsha: async () => ['retry'] } as unknown as PlainRedis;
      const audit = new RedisAuditStore(client, redisKeys(`${prefix}${randomId()}:`, 'cluster'), new FakeClock(), 10, logger);
      const rejection = await audit.record({ ...auditEvent('someone'), details: { secret: 'do-not-log' } }).catch((error: unknown) => error);
      expect(rejection).toBeInstanceOf(AppError);
      expect((rejection as AppError).code).toBe('unavailable');
      expect(audit.droppedEvents).toBe(1);
      expect(errors).toHaveLength(1);
      expect(JSON.stringify(errors)).not.toContain('do-not-log');
      expect(JSON.stringify(errors)).toContain('login.succeeded');
    });

    it('does not keep a session as live when the feed dropped while Redis was being asked', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const s = session(clock);
      await a.sessions.create(s);
      // B's question to Redis is answered "live", but the answer is held back...
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const ask = b.sessions.isActive.bind(b.sessions);
      jest.spyOn(b.sessions, 'isActive').mockImplementation(async (id) => {
        const answer = await ask(id);
        await gate;
        return answer;
      });
      const check = b.revocations.isActive(s.id);
      await eventually(() => (b.sessions.isActive as jest.Mock).mock.calls.length === 1);
      // ...while B's subscription drops: an end published now would not reach B.
      const subscriber = (b.revocations as unknown as { options: { subscriber: PlainRedis } }).options.subscriber;
      const closed = new Promise((resolve) => subscriber.once('close', resolve));
      subscriber.stream.destroy();
      await closed;
      release();
      await expect(check).resolves.toBe(true);
      await eventually(() => b.revocations.isCurrent);
      (b.sessions.isActive as jest.Mock).mockRestore();
      // Back and current, B still asks Redis about that session: it did not keep the answer.
      const asked = jest.spyOn(b.sessions, 'isActive');
      await expect(b.revocations.isActive(s.id)).resolves.toBe(true);
      expect(asked).toHaveBeenCalledTimes(1);
      asked.mockRestore();
      // That answer was kept (B was current throughout): an end now reaches B over the feed.
      await a.sessions.end(s.id);
      await eventually(() => b.revocations.has(s.id));
      await expect(b.revocations.isActive(s.id)).resolves.toBe(false);
    });

    if (layout === 'single') {
      /** A connection of its own that records the name of each command the stores send on it. */
      async function countingClient(): Promise<{ client: PlainRedis; sent: string[] }> {
        const client = new PlainRedis(url);
        // Connected first: the handshake's commands are not the store's.
        await client.ping();
        const sent: string[] = [];
        const send = client.sendCommand.bind(client);
        jest.spyOn(client, 'sendCommand').mockImplementation((command, ...rest) => {
          sent.push(command.name);
          return send(command, ...rest);
        });
        return { client, sent };
      }

      it('refreshes, logs out and ends every session in one command each on one Redis, from an instance that never saw the session', async () => {
        const clock = new FakeClock();
        const { client, sent } = await countingClient();
        try {
          const fresh = () => new RedisSessionStore({ client, keys, clock, accessTtlMs: ACCESS_TTL, onEnded: () => undefined });
          const s = session(clock, { refreshJti: 'j0' });
          await fresh().create(s);
          const counted = async (work: () => Promise<unknown>) => {
            sent.length = 0;
            await work();
            return [...sent];
          };
          await expect(counted(() => fresh().rotate(s.id, 'j0', { jti: 'j1', iat: 2 }, { graceMs: 0 }))).resolves.toEqual(['evalsha']);
          await expect(counted(() => fresh().end(s.id))).resolves.toEqual(['evalsha']);
          // The end was remembered as revoked in that one step.
          await expect(redis.zscore(keys.revoked, s.id)).resolves.not.toBeNull();
          const other = session(clock);
          await fresh().create(other);
          await expect(counted(() => fresh().endAllForUser(other.userId))).resolves.toEqual(['evalsha']);
          await expect(counted(() => fresh().listByUser(other.userId))).resolves.toEqual(['evalsha']);
        } finally {
          client.disconnect();
        }
      });

      it('registers and deletes a user in one command each on one Redis: no half-made account', async () => {
        const { client, sent } = await countingClient();
        try {
          const users = new RedisUserStore(client, keys, null);
          const user = userRecord({ email: `${randomId().toLowerCase()}@example.com` });
          await expect(users.create(user)).resolves.toBe('created');
          expect(sent).toEqual(['evalsha']);
          sent.length = 0;
          await expect(users.delete(user.id)).resolves.toBe(true);
          expect(sent).toEqual(['evalsha']);
          await expect(existing(keys.user(user.id), keys.userByEmail(user.email))).resolves.toBe(0);
        } finally {
          client.disconnect();
        }
      });
    }

    if (layout === 'cluster') {
      it('fails the ending request (503) when the revoked set cannot be written, after retrying it', async () => {
        const clock = new FakeClock();
        const stores = await instance(clock);
        const s = session(clock);
        await stores.sessions.create(s);
        const write = jest.spyOn(REMEMBER_REVOKED, 'run').mockRejectedValue(new Error('Command timed out'));
        try {
          await expect(stores.sessions.end(s.id)).rejects.toMatchObject({ code: 'unavailable' });
          expect(write).toHaveBeenCalledTimes(3);
        } finally {
          write.mockRestore();
        }
        // A write that fails once and then succeeds is retried, and the end goes through.
        const other = session(clock);
        await stores.sessions.create(other);
        const flaky = jest.spyOn(REMEMBER_REVOKED, 'run').mockRejectedValueOnce(new Error('Command timed out'));
        try {
          await expect(stores.sessions.end(other.id)).resolves.toBe(true);
        } finally {
          flaky.mockRestore();
        }
        await expect(redis.zscore(keys.revoked, other.id)).resolves.not.toBeNull();
      });

      it('answers 503, not 500, when the sessions of a user keep changing under endAllForUser', async () => {
        const stores = await instance(new FakeClock());
        const retry = jest.spyOn(END_USER_SESSIONS, 'run').mockResolvedValue(['retry']);
        try {
          await expect(stores.sessions.endAllForUser(randomId())).rejects.toMatchObject({ code: 'unavailable' });
        } finally {
          retry.mockRestore();
        }
      });

      it('leaves a registration cut short as a record that expires, whose email the next registration takes over', async () => {
        const stores = await instance(new FakeClock());
        const email = `${randomId().toLowerCase()}@example.com`;
        const first = userRecord({ email });
        // The step that places the user in the order fails (a timeout, the instance restarting).
        const zadd = jest.spyOn((stores.users as unknown as { client: PlainRedis }).client, 'evalsha');
        zadd.mockRejectedValueOnce(new Error('Command timed out'));
        try {
          await expect(stores.users.create(first)).rejects.toMatchObject({ code: 'unavailable' });
        } finally {
          zadd.mockRestore();
        }
        const ttl = await redis.pttl(keys.user(first.id));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(15_000);
        // What the expiry does, without waiting for it.
        await redis.del(keys.user(first.id));
        const second = userRecord({ email });
        await expect(stores.users.create(second)).resolves.toBe('created');
        await expect(redis.pttl(keys.user(second.id))).resolves.toBe(-1);
        await expect(stores.users.findByEmail(email)).resolves.toEqual(second);
      });

      it('moves a used session to the newest end of the session-to-user cache', async () => {
        const clock = new FakeClock();
        const stores = await instance(clock);
        const s = session(clock);
        await stores.sessions.create(s);
        const owners = (stores.sessions as unknown as { owners: Map<string, string> }).owners;
        const later = session(clock);
        await stores.sessions.create(later);
        expect([...owners.keys()].slice(-2)).toEqual([s.id, later.id]);
        await stores.sessions.get(s.id);
        expect([...owners.keys()].slice(-2)).toEqual([later.id, s.id]);
      });
    }
  });

  describe("an instance's copy of the users it has read", () => {
    /**
     * A user store of its own (copy of `copySize` records) over a connection whose GETs the test
     * counts, fed by a stand-in for the revocation feed that the test sets current or not and
     * whose messages it delivers by hand (the real feed is tested below, across instances).
     */
    function countedUserStore(copySize?: number) {
      const client = inspector(url);
      clients.push(client);
      const gets = jest.spyOn(client, 'get');
      const feed: { isCurrent: boolean } & UserChangeFeed = { isCurrent: true };
      return { users: new RedisUserStore(client, keys, feed, copySize), gets, feed };
    }
    const clients: (Redis | Cluster)[] = [];
    afterEach(() => clients.splice(0).forEach((client) => client.disconnect()));

    function user(): UserRecord {
      return userRecord();
    }

    it('asks Redis for a user once, then answers from its copy (GET /profile makes no round trip)', async () => {
      const alice = user();
      const { users, gets } = countedUserStore();
      await users.create(alice);

      await expect(users.findById(alice.id)).resolves.toEqual(alice);
      await expect(users.findById(alice.id)).resolves.toEqual(alice);
      await expect(users.findByEmail(alice.email)).resolves.toEqual(alice);
      // Two reads of the record would be two GETs of user:<id>; the email lookup asks its index only.
      expect(gets.mock.calls.map(([key]) => key)).toEqual([keys.user(alice.id), keys.userByEmail(alice.email)]);
    });

    it('keeps no answer for an unknown id: a user registered on another instance is found at once', async () => {
      const bob = user();
      const { users: here } = countedUserStore();
      const { users: elsewhere } = countedUserStore();
      await expect(here.findById(bob.id)).resolves.toBeNull();

      await elsewhere.create(bob);
      await expect(here.findById(bob.id)).resolves.toEqual(bob);
    });

    it('keeps at most its size in records: the one copied longest ago is read from Redis again', async () => {
      const [first, second, third] = [user(), user(), user()];
      const { users, gets } = countedUserStore(2);
      for (const each of [first, second, third]) await users.create(each);
      for (const each of [first, second, third]) await users.findById(each.id);
      gets.mockClear();

      await expect(users.findById(third.id)).resolves.toEqual(third);
      await expect(users.findById(second.id)).resolves.toEqual(second);
      expect(gets).not.toHaveBeenCalled();
      await expect(users.findById(first.id)).resolves.toEqual(first);
      expect(gets.mock.calls.map(([key]) => key)).toEqual([keys.user(first.id)]);
    });

    it('makes room once for a user read twice at the same moment', async () => {
      const [first, second, third] = [user(), user(), user()];
      const { users, gets } = countedUserStore(2);
      for (const each of [first, second, third]) await users.create(each);
      await users.findById(first.id);
      await users.findById(second.id);

      await Promise.all([users.findById(third.id), users.findById(third.id)]);
      gets.mockClear();
      // Only the first record made room: the second is still in the copy.
      await expect(users.findById(second.id)).resolves.toEqual(second);
      await expect(users.findById(third.id)).resolves.toEqual(third);
      expect(gets).not.toHaveBeenCalled();
    });

    it('drops its copy of a user it updates or deletes before the call resolves', async () => {
      const alice = user();
      const { users, gets } = countedUserStore();
      await users.create(alice);
      await users.findById(alice.id);

      const updated = await users.update(alice.id, { role: 'admin', lastLoginAt: 1_700_000_000_999 });
      expect(users.isCopied(alice.id)).toBe(false);
      gets.mockClear();
      await expect(users.findById(alice.id)).resolves.toEqual(updated);
      expect(gets).toHaveBeenCalledTimes(1);

      await users.delete(alice.id);
      expect(users.isCopied(alice.id)).toBe(false);
      await expect(users.findById(alice.id)).resolves.toBeNull();
    });

    it('does not keep a record whose read was in flight when a change arrived: it may predate the change', async () => {
      const [alice, bob] = [user(), user()];
      const { users, gets } = countedUserStore();
      await users.create(alice);

      const reading = users.findById(alice.id);
      users.dropCopy(bob.id); // any user's change, heard while the GET is on its way
      await expect(reading).resolves.toEqual(alice);
      expect(users.isCopied(alice.id)).toBe(false);

      // A read that no change overlapped is kept.
      await users.findById(alice.id);
      expect(users.isCopied(alice.id)).toBe(true);
      gets.mockClear();
      await users.findById(alice.id);
      expect(gets).not.toHaveBeenCalled();
    });

    it('neither consults nor fills its copy while the feed is not current: every read goes to Redis', async () => {
      const [alice, bob] = [user(), user()];
      const { users, feed, gets } = countedUserStore();
      const { users: elsewhere } = countedUserStore();
      await users.create(alice);
      await users.create(bob);
      await users.findById(alice.id);

      feed.isCurrent = false;
      // A change this instance is not told of: the copy still holds the old record, unused.
      await elsewhere.update(alice.id, { disabled: true });
      gets.mockClear();
      await expect(users.findById(alice.id)).resolves.toEqual({ ...alice, disabled: true });
      await expect(users.findById(bob.id)).resolves.toEqual(bob);
      await expect(users.findById(bob.id)).resolves.toEqual(bob);
      expect(gets).toHaveBeenCalledTimes(3);
      expect(users.isCopied(bob.id)).toBe(false);

      // A read that began while the feed was current and ended after it was lost is not kept either.
      feed.isCurrent = true;
      const reading = users.findById(bob.id);
      feed.isCurrent = false;
      await reading;
      feed.isCurrent = true;
      expect(users.isCopied(bob.id)).toBe(false);
    });

    it('keeps no copy at all without a feed to tell it of changes', async () => {
      const alice = user();
      const client = inspector(url);
      clients.push(client);
      const users = new RedisUserStore(client, keys, null);
      await users.create(alice);
      await users.findById(alice.id);
      expect(users.isCopied(alice.id)).toBe(false);
    });
  });

  describe('two instances on one Redis', () => {
    it('shows a user updated on one instance updated on the other, whose copy held it, once the message arrives', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const alice = userRecord();
      await a.users.create(alice);
      await a.users.findById(alice.id);
      await expect(b.users.findById(alice.id)).resolves.toEqual(alice);
      expect(b.users.isCopied(alice.id)).toBe(true);

      const updated = await a.users.update(alice.id, { disabled: true, passwordHash: 'y' });
      expect(updated).toEqual({ ...alice, disabled: true, passwordHash: 'y' });
      // The updating instance answers with the new record as soon as update() has resolved.
      await expect(a.users.findById(alice.id)).resolves.toEqual(updated);
      // The other hears of it over pub/sub: asynchronous, so the test waits (with a bound) for it.
      await eventually(() => !b.users.isCopied(alice.id));
      await expect(b.users.findById(alice.id)).resolves.toEqual(updated);
      await expect(b.users.findByEmail(alice.email)).resolves.toEqual(updated);
    });

    it('shows a user deleted on one instance gone on the other, whose copy held it, once the message arrives', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const alice = userRecord();
      await a.users.create(alice);
      await a.users.findById(alice.id);
      await b.users.findById(alice.id);

      await expect(a.users.delete(alice.id)).resolves.toBe(true);
      await expect(a.users.findById(alice.id)).resolves.toBeNull();
      // Asynchronous, as above.
      await eventually(() => !b.users.isCopied(alice.id));
      await expect(b.users.findById(alice.id)).resolves.toBeNull();
      await expect(b.users.findByEmail(alice.email)).resolves.toBeNull();
    });

    it('lets exactly one of 20 rotations of one token split across two instances win', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const s = session(clock);
      await a.sessions.create(s);

      const successors = Array.from({ length: 20 }, () => ({ jti: randomId(), iat: Math.floor(clock.now() / 1000) }));
      const outcomes = await Promise.all(
        successors.map((next, i) => (i % 2 === 0 ? a : b).sessions.rotate(s.id, s.refreshJti, next, { graceMs: 10_000 })),
      );
      expect(outcomes.filter((o) => o.kind === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'grace')).toHaveLength(19);
      const winner = successors[outcomes.findIndex((o) => o.kind === 'rotated')]!;
      await expect(b.sessions.get(s.id)).resolves.toMatchObject({ refreshJti: winner.jti });
    });

    it('tells the other instance of an ended session over pub/sub; the ending instance knows before end() returns', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const s = session(clock);
      await a.sessions.create(s);
      await expect(b.revocations.isActive(s.id)).resolves.toBe(true);

      await a.sessions.end(s.id);
      expect(a.revocations.has(s.id)).toBe(true);
      await eventually(() => b.revocations.has(s.id));
      await expect(b.revocations.isActive(s.id)).resolves.toBe(false);
    });

    it('tells the other instance of sessions ended by logout everywhere and by refresh-token reuse', async () => {
      const clock = new FakeClock();
      const [a, b] = [await instance(clock), await instance(clock)];
      const userId = randomId();
      const all = [session(clock, { userId }), session(clock, { userId })];
      const reused = session(clock);
      for (const s of [...all, reused]) await a.sessions.create(s);

      await a.sessions.endAllForUser(userId);
      await a.sessions.rotate(reused.id, reused.refreshJti, { jti: randomId(), iat: 0 }, { graceMs: 0 });
      await a.sessions.rotate(reused.id, reused.refreshJti, { jti: randomId(), iat: 0 }, { graceMs: 0 });
      await eventually(() => [...all, reused].every((s) => b.revocations.has(s.id)));
      for (const s of [...all, reused]) await expect(b.revocations.isActive(s.id)).resolves.toBe(false);
    });

    it('reads back, when it starts, the sessions ended before it subscribed', async () => {
      const clock = new FakeClock();
      const a = await instance(clock);
      const s = session(clock);
      await a.sessions.create(s);
      await a.sessions.end(s.id);

      const late = await instance(clock);
      expect(late.revocations.has(s.id)).toBe(true);
    });

    it('forgets an ended session locally once its access tokens have all expired', async () => {
      const clock = new FakeClock();
      const a = await instance(clock);
      const s = session(clock);
      await a.sessions.create(s);
      await a.sessions.end(s.id);
      clock.advance(ACCESS_TTL + MARGIN - 1);
      await a.sweep();
      expect(a.revocations.has(s.id)).toBe(true);
      clock.advance(1);
      await a.sweep();
      expect(a.revocations.has(s.id)).toBe(false);
      await expect(redis.zscore(keys.revoked, s.id)).resolves.toBeNull();
    });

    it('does not bring back an ended session whose message arrives after its tokens expired', async () => {
      // Pub/sub across a cluster's nodes can deliver an end after the prune that passed its time.
      const clock = new FakeClock();
      const a = await instance(clock);
      const [late, marker] = [randomId(), randomId()];
      await redis.publish(keys.revokedChannel, `${clock.now()} ${late}`);
      // Messages on one channel arrive in order: once the marker is in, so is the late one.
      await redis.publish(keys.revokedChannel, `${clock.now() + ACCESS_TTL} ${marker}`);
      await eventually(() => a.revocations.has(marker));
      expect(a.revocations.has(late)).toBe(false);
    });
  });

  // Staged through a TCP proxy in front of one Redis (see above): one Redis only.
  if (layout === 'single') {
    describe('when Redis goes away', () => {
      it('answers 503 unavailable (AppError) from every store, fast, and recovers by itself', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const stores = await instance(clock, { through: link });
        const s = session(clock);
        await stores.sessions.create(s);

        link.set('down');
        const unavailable = expect.objectContaining({ code: 'unavailable', status: 503 });
        await expect(stores.ping()).rejects.toEqual(unavailable);
        await expect(stores.sessions.get(s.id)).rejects.toEqual(unavailable);
        await expect(stores.sessions.rotate(s.id, s.refreshJti, { jti: randomId(), iat: 0 }, { graceMs: 0 })).rejects.toEqual(unavailable);
        await expect(stores.users.findByEmail('a@example.com')).rejects.toEqual(unavailable);
        await expect(stores.rateLimits.increment(randomId(), 1000)).rejects.toBeInstanceOf(AppError);
        await expect(stores.sweep()).resolves.toBeUndefined();

        link.set('up');
        await eventually(async () => stores.ping().then(() => true, () => false));
        await expect(stores.sessions.get(s.id)).resolves.toEqual(s);
      });

      it('never answers "live" for a session while its copy of ended sessions is stale: it asks Redis, and 503s if it cannot', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const [a, b] = [await instance(clock), await instance(clock, { through: link })];
        const live = session(clock);
        const endedBefore = session(clock);
        await a.sessions.create(live);
        await a.sessions.create(endedBefore);
        await a.sessions.end(endedBefore.id);
        await eventually(() => b.revocations.has(endedBefore.id));

        link.set('down');
        await eventually(() => !b.revocations.isCurrent);
        await expect(b.revocations.isActive(live.id)).rejects.toEqual(expect.objectContaining({ code: 'unavailable' }));
        await expect(b.revocations.isActive(endedBefore.id)).resolves.toBe(false);

        // Ended while B could not hear it: B must not take the session for live when it is back.
        await a.sessions.end(live.id);
        link.set('up');
        await eventually(() => b.revocations.isCurrent);
        expect(b.revocations.has(live.id)).toBe(true);
        await expect(b.revocations.isActive(live.id)).resolves.toBe(false);
      });

      it('never answers from its users copy while it cannot hear of changes: it drops the copy, 503s, and reads the change made meanwhile', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const [a, b] = [await instance(clock), await instance(clock, { through: link })];
        const alice = userRecord();
        await a.users.create(alice);
        await b.users.findById(alice.id);
        expect(b.users.isCopied(alice.id)).toBe(true);

        link.set('down');
        await eventually(() => !b.revocations.isCurrent);
        expect(b.users.isCopied(alice.id)).toBe(false);
        await expect(b.users.findById(alice.id)).rejects.toEqual(expect.objectContaining({ code: 'unavailable' }));

        // Changed while B could not hear it: B must answer with the change once it is back.
        const updated = await a.users.update(alice.id, { role: 'admin' });
        link.set('up');
        await eventually(() => b.revocations.isCurrent, 10_000);
        await expect(b.users.findById(alice.id)).resolves.toEqual(updated);
        expect(b.users.isCopied(alice.id)).toBe(true);
      });

      it('drops a subscription that stops answering (a frozen link) and reads the missed ends back', async () => {
        const clock = new FakeClock();
        const link = await proxy();
        const [a, b] = [await instance(clock), await instance(clock, { through: link })];
        const s = session(clock);
        await a.sessions.create(s);

        link.set('frozen');
        await a.sessions.end(s.id);
        await eventually(() => !b.revocations.isCurrent);
        expect(b.revocations.has(s.id)).toBe(false);
        await expect(b.revocations.isActive(s.id)).rejects.toEqual(expect.objectContaining({ code: 'unavailable' }));

        link.set('down');
        link.set('up');
        await eventually(() => b.revocations.isCurrent, 10_000);
        expect(b.revocations.has(s.id)).toBe(true);
      });

      it('after Redis has lost its data, checks sessions in Redis for one access-token lifetime', async () => {
        const clock = new FakeClock();
        const lossPrefix = uniquePrefix();
        const link = await proxy();
        const [a, b] = [await instance(clock, { keyPrefix: lossPrefix }), await instance(clock, { keyPrefix: lossPrefix, through: link })];
        const s = session(clock);
        await a.sessions.create(s);
        // Without the loss, B's copy alone answers (it has no reason to doubt the session).
        await expect(b.revocations.isActive(s.id)).resolves.toBe(true);

        await deleteKeys(url, lossPrefix); // what a restart without persistence does to this deployment
        link.set('down');
        await eventually(() => !b.revocations.isCurrent);
        link.set('up');
        await eventually(() => b.revocations.isCurrent, 10_000);
        await expect(b.revocations.isActive(s.id)).resolves.toBe(false);
        clock.advance(ACCESS_TTL + MARGIN);
        // The copy is trusted again, but only for sessions Redis has answered live: the lost one stays
        // refused, and one opened after the loss is live.
        await expect(b.revocations.isActive(s.id)).resolves.toBe(false);
        const after = session(clock);
        await a.sessions.create(after);
        await expect(b.revocations.isActive(after.id)).resolves.toBe(true);
        await deleteKeys(url, lossPrefix);
      });
    });
  }
}
