// Redis user store: one JSON record per user, an email index, and the creation order. Users never expire.
import type { Redis } from 'ioredis';
import type { UserChanges, UserPage, UserPageQuery, UserRecord, UserStore } from '../types';
import { checkPageLimit, invalidCursor, pickUserChanges } from '../user-changes';
import { USER_COPY_SIZE, UserCopy, type UserChangeFeed } from '../user-copy';
import { guarded, LuaScript } from './connection';
import type { RedisKeys } from './keys';

/** Claims the email and writes the user in one step, so of two concurrent creates one wins. */
const CREATE = new LuaScript(`
-- KEYS: email index, user record, creation order, sequence. ARGV: user id, record JSON.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
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

/** Drops the record, its email and its place in the order in one step, then tells every instance. */
const DELETE = new LuaScript(`
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
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    /** Without a feed nothing tells this instance of changes, so it keeps no copy. */
    feed: UserChangeFeed | null,
    copySize = USER_COPY_SIZE,
  ) {
    this.copy = new UserCopy(feed, copySize);
  }

  async create(user: UserRecord): Promise<'created' | 'email_taken'> {
    const { keys } = this;
    const created = await guarded(
      CREATE.run(
        this.client,
        [keys.userByEmail(user.email), keys.user(user.id), keys.users, keys.userSequence],
        [user.id, JSON.stringify(toJson(user))],
      ),
    );
    return created === 1 ? 'created' : 'email_taken';
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

  async delete(id: string): Promise<boolean> {
    const { keys } = this;
    const deleted = await guarded(
      DELETE.run(this.client, [keys.user(id), keys.users], [keys.userByEmail(''), keys.userChangedChannel, id]),
    );
    this.dropCopy(id);
    return deleted === 1;
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
      const records = await guarded(client.mget(ids.map((id) => keys.user(id))));
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
