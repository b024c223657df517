// Redis user store: one JSON record per user, an email index, and the creation order. Users never expire.
import type { Redis } from 'ioredis';
import type { UserRecord, UserStore } from '../types';
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

/** How many user records an instance keeps in its local copy by default: a few MB at most. */
export const USER_COPY_SIZE = 10_000;

/**
 * A user record never changes once created (the contract has no update and no delete), so an
 * instance keeps the records it has read: GET /profile then costs no Redis round trip for a user
 * seen before. Only found records are kept, so a user registered on another instance is found at
 * once. If Redis loses its data, the copy may outlive the user, but never helps a token: every
 * session is then checked in Redis (see revocation-feed.ts) before any user is looked up.
 */
export class RedisUserStore implements UserStore {
  /** In the order read: when full, the record copied longest ago makes room. */
  private readonly copy = new Map<string, UserRecord>();

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly copySize = USER_COPY_SIZE,
  ) {}

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
    const known = this.copy.get(id);
    if (known) return { ...known };
    const user = fromJson(await guarded(this.client.get(this.keys.user(id))));
    if (!user) return null;
    this.remember(user);
    // The caller gets its own object, as from Redis: changing it cannot change the copy.
    return { ...user };
  }

  private remember(user: UserRecord): void {
    // Two concurrent misses for one user both land here: the second must not evict anyone.
    if (!this.copy.has(user.id) && this.copy.size >= this.copySize) this.copy.delete(this.copy.keys().next().value!);
    this.copy.set(user.id, user);
  }

  async list(): Promise<UserRecord[]> {
    const ids = await guarded(this.client.zrange(this.keys.users, 0, '-1'));
    if (ids.length === 0) return [];
    const records = await guarded(this.client.mget(ids.map((id) => this.keys.user(id))));
    return records.map(fromJson).filter((user): user is UserRecord => user !== null);
  }
}

/** Only the record's own fields, in a fixed order. */
function toJson(user: UserRecord): UserRecord {
  const { id, email, role, passwordHash, createdAt } = user;
  return { id, email, role, passwordHash, createdAt };
}

function fromJson(text: string | null): UserRecord | null {
  return text === null ? null : (JSON.parse(text) as UserRecord);
}
