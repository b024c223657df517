// Redis user store: one JSON record per user, an email index, and the creation order. Users never expire.
import type { UserChanges, UserPage, UserPageQuery, UserRecord, UserStore } from '../types';
import { checkPageLimit, invalidCursor, pickUserChanges } from '../user-changes';
import { USER_COPY_SIZE, UserCopy, type UserChangeFeed } from '../user-copy';
import { guarded, LuaScript, unavailable, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/**
 * One Redis: claims the email and writes the user in one step, so of two concurrent creates one
 * wins and nothing half-made is ever left (the script of the time before clusters).
 */
const SINGLE_CREATE = new LuaScript(`
-- KEYS: email index, user record, creation order, sequence. ARGV: user id, record JSON.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
return 1
`);

/** One Redis: drops the record, its email and its place in the order in one step, then tells every instance. */
const SINGLE_DELETE = new LuaScript(`
-- KEYS: user record, creation order. ARGV: email index key prefix, the user-changed channel, user id.
local text = redis.call('GET', KEYS[1])
if not text then return 0 end
local email_key = ARGV[1] .. cjson.decode(text).email
-- Only while the index names this user: an email is never freed from under someone else.
if redis.call('GET', email_key) == ARGV[3] then redis.call('DEL', email_key) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

/**
 * Cluster layout: how long a record being created lives unless its create finishes (PERSIST). Far
 * longer than the three steps in between take (each is bounded by the command timeout), short
 * enough that an email whose registration was cut short is free again soon.
 */
const PENDING_USER_TTL_MS = 15_000;

/**
 * Takes an email whose claim names a user that no longer exists, and only that claim: of two
 * creates that found the same stale claim, one gets it.
 */
const TAKE_STALE_CLAIM = new LuaScript(`
-- KEYS: email index. ARGV: the stale user id, the new user id.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`);

/** Places a user at the end of the creation order (two keys of one slot: {users} on a cluster). */
const APPEND = new LuaScript(`
-- KEYS: creation order, sequence. ARGV: user id.
redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[2]), ARGV[1])
return 1
`);

/**
 * Read-modify-write of the JSON record in one step, so two concurrent updates of different fields
 * both stick; then tells every instance to drop its copy. cjson keeps 14 significant digits,
 * which holds any millisecond time before the year 5000 exactly.
 */
const UPDATE = new LuaScript(`
-- KEYS: user record. ARGV: the changes as JSON, the user-changed channel, user id, the expected password hash or ''.
local text = redis.call('GET', KEYS[1])
if not text then return false end
local user = cjson.decode(text)
if ARGV[4] ~= '' and user.passwordHash ~= ARGV[4] then return false end
for field, value in pairs(cjson.decode(ARGV[1])) do user[field] = value end
local updated = cjson.encode(user)
redis.call('SET', KEYS[1], updated)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return updated
`);

/** Drops the record and tells every instance, in one step; returns the record it dropped. */
const DELETE = new LuaScript(`
-- KEYS: user record. ARGV: the user-changed channel, user id.
local text = redis.call('GET', KEYS[1])
if not text then return false end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return text
`);

/** Frees an email, but only while its claim names this user: never from under someone else. */
const RELEASE_CLAIM = new LuaScript(`
-- KEYS: email index. ARGV: user id.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/** Attempts of create() against claims that keep changing under it. */
const CLAIM_ATTEMPTS = 5;

/** Records read per round trip while a filtered page looks for matches. */
const SCAN_BATCH = 200;

/**
 * An instance keeps the records it has read, so that GET /profile costs no Redis round trip for a
 * user seen before. Records change (update, delete), so the copy is only as good as the feed that
 * tells of changes: update() and delete() publish the user's id in the Lua step that writes, every
 * instance drops that id on the message, and the copy is consulted only while the feed is current
 * (it is emptied when the feed is lost: messages may have been missed). A read that was in flight
 * while any change arrived is not kept, since its answer may predate that change. On another
 * instance a change is seen once its message arrives (asynchronous: one hop after the write, or,
 * over a link that dies silently, not before the feed's heartbeat drops it); the updating instance
 * drops its own copy before resolving. Only found records are kept, so a user registered elsewhere
 * is found at once. If Redis loses its data, the copy may outlive the user, but never helps a
 * token: every session is then checked in Redis (see revocation-feed.ts) before any user is looked
 * up.
 */
export class RedisUserStore implements UserStore {
  private readonly copy: UserCopy;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    /** Without a feed nothing tells this instance of changes, so it keeps no copy. */
    feed: UserChangeFeed | null,
    copySize = USER_COPY_SIZE,
  ) {
    this.copy = new UserCopy(feed, copySize);
  }

  /**
   * One Redis: one script (SINGLE_CREATE). On a cluster the record, the email and the order are
   * keys of their own slots, so a create is four steps, ordered so that an interruption anywhere
   * leaves no account that some part of the server cannot see: the record first, with an expiry
   * (unreachable until the email names it), then the email's claim (SET NX: of two concurrent
   * creates one wins, and the loser removes its record), then its place in the order, and only
   * then PERSIST. A create cut short leaves a record that expires, and so a claim naming a user
   * whose record is gone: such a claim (also left by a delete cut short) is taken over.
   */
  async create(user: UserRecord): Promise<'created' | 'email_taken'> {
    const { client, keys } = this;
    const emailKey = keys.userByEmail(user.email);
    if (keys.layout !== 'cluster') {
      const created = await guarded(
        SINGLE_CREATE.run(client, [emailKey, keys.user(user.id), keys.users, keys.userSequence], [user.id, JSON.stringify(toJson(user))]),
      );
      return created === 1 ? 'created' : 'email_taken';
    }
    await guarded(client.set(keys.user(user.id), JSON.stringify(toJson(user)), 'PX', PENDING_USER_TTL_MS));
    let claimed = false;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS && !claimed; attempt += 1) {
      claimed = (await guarded(client.set(emailKey, user.id, 'NX'))) === 'OK';
      if (claimed) break;
      const holder = await guarded(client.get(emailKey));
      if (holder === null) continue;
      // A record is always written before its claim and deleted (or expires) before it: a claim
      // without a record is stale for good.
      if ((await guarded(client.exists(keys.user(holder)))) === 1) break;
      claimed = (await guarded(TAKE_STALE_CLAIM.run(client, [emailKey], [holder, user.id]))) === 1;
    }
    if (!claimed) {
      await guarded(client.del(keys.user(user.id)));
      return 'email_taken';
    }
    await guarded(APPEND.run(client, [keys.users, keys.userSequence], [user.id]));
    if ((await guarded(client.persist(keys.user(user.id)))) === 0 && (await guarded(client.exists(keys.user(user.id)))) === 0) {
      // The steps took longer than the record's expiry: the account never came to be. Its claim
      // is stale already; dropping it and its place now only tidies up.
      await guarded(Promise.all([RELEASE_CLAIM.run(client, [emailKey], [user.id]), client.zrem(keys.users, user.id)]));
      throw unavailable(new Error('user create: the record expired before the create finished'));
    }
    return 'created';
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const id = await guarded(this.client.get(this.keys.userByEmail(email)));
    return id === null ? null : this.findById(id);
  }

  async findById(id: string): Promise<UserRecord | null> {
    return this.copy.read(id, async () => fromJson(await guarded(this.client.get(this.keys.user(id)))));
  }

  async update(id: string, changes: UserChanges, ifPasswordHash?: string): Promise<UserRecord | null> {
    const { keys } = this;
    const text = await guarded(
      UPDATE.run(this.client, [keys.user(id)], [JSON.stringify(pickUserChanges(changes)), keys.userChangedChannel, id, ifPasswordHash ?? '']),
    );
    // Dropped here, not only on our own message: the contract holds from the moment update() resolves.
    this.dropCopy(id);
    return fromJson(text as string | null);
  }

  /**
   * One Redis: one script (SINGLE_DELETE). On a cluster the record goes first (with the message to
   * every instance), in one step: from then on the user is gone. Its email and its place in the
   * order follow; a claim left behind by an interruption is taken over by the next create of that
   * email (see create()).
   */
  async delete(id: string): Promise<boolean> {
    const { client, keys } = this;
    if (keys.layout !== 'cluster') {
      const deleted = await guarded(SINGLE_DELETE.run(client, [keys.user(id), keys.users], [keys.userByEmail(''), keys.userChangedChannel, id]));
      this.dropCopy(id);
      return deleted === 1;
    }
    const text = (await guarded(DELETE.run(client, [keys.user(id)], [keys.userChangedChannel, id]))) as string | null;
    this.dropCopy(id);
    if (text === null) return false;
    const { email } = JSON.parse(text) as { email: string };
    await guarded(Promise.all([RELEASE_CLAIM.run(client, [keys.userByEmail(email)], [id]), client.zrem(keys.users, id)]));
    return true;
  }

  /**
   * Pages by the creation sequence: the cursor is the last score returned, so it stays valid when
   * its user is deleted, and users created later have higher scores and come after.
   */
  async listPage(query: UserPageQuery): Promise<UserPage> {
    checkPageLimit(query.limit);
    const { client, keys } = this;
    const filter = query.emailContains;
    let after = query.cursor ? parseCursor(query.cursor) : null;
    // One match more than the page holds tells whether a next page exists at all.
    const batch = filter === undefined ? query.limit + 1 : Math.max(query.limit + 1, SCAN_BATCH);
    const users: UserRecord[] = [];
    let lastScore = '';
    for (;;) {
      const min = after === null ? '-inf' : `(${after}`;
      const entries = await guarded(client.zrangebyscore(keys.users, min, '+inf', 'WITHSCORES', 'LIMIT', 0, batch));
      if (entries.length === 0) return { users, nextCursor: null };
      const ids = entries.filter((_, i) => i % 2 === 0);
      // MGET takes keys of one slot only: on a cluster the records are read one by one (pipelined).
      const names = ids.map((id) => keys.user(id));
      const records = await guarded(keys.layout === 'cluster' ? Promise.all(names.map((name) => client.get(name))) : client.mget(names));
      for (let i = 0; i < ids.length; i += 1) {
        after = entries[2 * i + 1]!;
        // Deleted between the two reads: skipped, as if read a moment later.
        const user = fromJson(records[i] ?? null);
        if (!user || (filter !== undefined && !user.email.includes(filter))) continue;
        if (users.length === query.limit) return { users, nextCursor: lastScore };
        users.push(user);
        lastScore = after;
      }
      if (ids.length < batch) return { users, nextCursor: null };
    }
  }

  /** Forgets one record (told by the feed of a change on any instance, or by this one). */
  dropCopy(userId: string): void {
    this.copy.drop(userId);
  }

  /** Forgets every record: the feed was lost, so changes may have gone unheard. */
  dropAllCopies(): void {
    this.copy.dropAll();
  }

  /** Whether this instance holds a copy of the user (for tests). */
  isCopied(userId: string): boolean {
    return this.copy.has(userId);
  }
}

/** Only the record's own fields, in a fixed order. */
function toJson(user: UserRecord): UserRecord {
  const { id, email, role, passwordHash, createdAt, emailVerified, disabled, lastLoginAt } = user;
  return { id, email, role, passwordHash, createdAt, emailVerified, disabled, lastLoginAt };
}

/**
 * Records written before emailVerified, disabled and lastLoginAt existed lack them: such a user
 * never verified through this server, is not disabled, and has no recorded login.
 */
function fromJson(text: string | null): UserRecord | null {
  if (text === null) return null;
  const stored = JSON.parse(text) as Partial<UserRecord>;
  return toJson({ emailVerified: false, disabled: false, lastLoginAt: null, ...stored } as UserRecord);
}

function parseCursor(cursor: string): string {
  if (!/^\d{1,15}$/.test(cursor)) throw invalidCursor();
  return cursor;
}
