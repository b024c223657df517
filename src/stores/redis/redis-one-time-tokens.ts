// Redis one-time tokens: one hash per token under its purpose and a per-user index, each step a single-key Lua script.
import type { Clock } from '../../lib/clock';
import type { OneTimeTokenPurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../types';
import { EXPIRY_MARGIN_MS, guarded, LuaScript, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/** Writes the token with a TTL of its remaining life plus the margin. */
const WRITE = new LuaScript(`
-- KEYS: token. ARGV: ttl (ms), then the record's field/value pairs.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** Indexes a token under its user; the index lives as long as the user's longest token and sheds expired entries as it grows. */
const INDEX = new LuaScript(`
-- KEYS: user index. ARGV: now, expiresAt, ttl (ms), hash.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`);

/**
 * Takes the token out and returns it in one step, so of concurrent consumers one gets it. An
 * expired token goes too (it could never be used again) but is not returned: the reply is then
 * {0, record}, else {1, record}, so that the caller can drop the index entry either way.
 */
const CONSUME = new LuaScript(`
-- KEYS: token. ARGV: now.
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then return false end
local t = {}
for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
redis.call('DEL', KEYS[1])
if tonumber(t.expiresAt) <= tonumber(ARGV[1]) then return {0, flat} end
return {1, flat}
`);

/** Voids one token; 1 when it was still outstanding on the clock (a consume racing it gets it or nothing). */
const VOID = new LuaScript(`
-- KEYS: token. ARGV: now.
local expires_at = redis.call('HGET', KEYS[1], 'expiresAt')
if not expires_at then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(expires_at) > tonumber(ARGV[1]) then return 1 end
return 0
`);

/**
 * Expiry is decided on the injected clock (`expiresAt`), as in memory; Redis TTLs only bound what
 * Redis holds, so sweep() has nothing to do here.
 *
 * A token and its user's index are keys of their own (slots of their own on a cluster): the
 * token is written before it is indexed, and voiding reads the index, then voids each token and
 * removes exactly the entries it read. So a token whose create returned before a
 * deleteForUser() began is in the index that deleteForUser() reads, and is voided; an index entry
 * whose token is gone is harmless (voiding it counts nothing).
 */
export class RedisOneTimeTokenStore implements OneTimeTokenStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async create(token: OneTimeTokenRecord): Promise<void> {
    const { client, keys } = this;
    const now = this.clock.now();
    const ttl = Math.max(token.expiresAt - now + EXPIRY_MARGIN_MS, 1);
    await guarded(WRITE.run(client, [keys.oneTimeToken(token.purpose, token.hash)], [ttl, ...toFields(token)]));
    await guarded(INDEX.run(client, [keys.userOneTimeTokens(token.purpose, token.userId)], [now, token.expiresAt, ttl, token.hash]));
  }

  async consume(hash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord | null> {
    const { client, keys } = this;
    const reply = (await guarded(CONSUME.run(client, [keys.oneTimeToken(purpose, hash)], [this.clock.now()]))) as [number, string[]] | null;
    if (!reply) return null;
    const [live, flat] = reply;
    const token = fromFields(flat);
    // Only tidiness: an entry left behind (Redis away just now) counts nothing and expires.
    await client.zrem(keys.userOneTimeTokens(purpose, token.userId), hash).catch(() => undefined);
    return live === 1 ? token : null;
  }

  async deleteForUser(userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const { client, keys } = this;
    const index = keys.userOneTimeTokens(purpose, userId);
    const hashes = await guarded(client.zrange(index, '0', '-1'));
    if (hashes.length === 0) return 0;
    const now = this.clock.now();
    const voided = await guarded(Promise.all(hashes.map((hash) => VOID.run(client, [keys.oneTimeToken(purpose, hash)], [now]))));
    // Only the entries read: a token indexed meanwhile stays indexed (and outstanding).
    await guarded(client.zrem(index, ...hashes));
    return voided.reduce<number>((sum, one) => sum + Number(one), 0);
  }
}

function toFields(token: OneTimeTokenRecord): (string | number)[] {
  return [
    'hash', token.hash,
    'purpose', token.purpose,
    'userId', token.userId,
    'createdAt', token.createdAt,
    'expiresAt', token.expiresAt,
  ];
}

function fromFields(flat: string[]): OneTimeTokenRecord {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return {
    hash: fields.hash ?? '',
    purpose: fields.purpose as OneTimeTokenPurpose,
    userId: fields.userId ?? '',
    createdAt: Number(fields.createdAt),
    expiresAt: Number(fields.expiresAt),
  };
}
