// Redis one-time tokens: one hash per token under its purpose, a per-user index, each step one Lua script.
import type { Redis } from 'ioredis';
import type { Clock } from '../../lib/clock';
import type { OneTimeTokenPurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../types';
import { EXPIRY_MARGIN_MS, guarded, LuaScript } from './connection';
import type { RedisKeys } from './keys';

/**
 * Writes the token with a TTL of its remaining life plus the margin, and indexes it under its
 * user; the index lives as long as the user's longest token and sheds expired entries as it grows.
 */
const CREATE = new LuaScript(`
-- KEYS: token, user index. ARGV: now, expiresAt, margin, hash, then the record's field/value pairs.
local now, expires_at = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl = expires_at - now + tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('ZADD', KEYS[2], expires_at, ARGV[4])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`);

/**
 * Takes the token out and returns it in one step, so of concurrent consumers one gets it. An
 * expired token goes too (it could never be used again) but is not returned. The purpose is part
 * of the key: a token asked for under another purpose is simply not found, and stays.
 */
const CONSUME = new LuaScript(`
-- KEYS: token. ARGV: now, user index key prefix (the user id follows).
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then return false end
local t = {}
for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. t.userId, t.hash)
if tonumber(t.expiresAt) <= tonumber(ARGV[1]) then return false end
return flat
`);

/** Voids every token in the user's index; counts only those still outstanding on the clock. */
const DELETE_FOR_USER = new LuaScript(`
-- KEYS: user index. ARGV: now, token key prefix (the hash follows).
local now, voided = tonumber(ARGV[1]), 0
for _, hash in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[2] .. hash
  local expires_at = redis.call('HGET', key, 'expiresAt')
  if expires_at then
    if tonumber(expires_at) > now then voided = voided + 1 end
    redis.call('DEL', key)
  end
end
redis.call('DEL', KEYS[1])
return voided
`);

/**
 * Expiry is decided on the injected clock (`expiresAt`), as in memory; Redis TTLs only bound what
 * Redis holds, so sweep() has nothing to do here.
 */
export class RedisOneTimeTokenStore implements OneTimeTokenStore {
  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async create(token: OneTimeTokenRecord): Promise<void> {
    const { keys } = this;
    await guarded(
      CREATE.run(
        this.client,
        [keys.oneTimeToken(token.purpose, token.hash), keys.userOneTimeTokens(token.purpose, token.userId)],
        [this.clock.now(), token.expiresAt, EXPIRY_MARGIN_MS, token.hash, ...toFields(token)],
      ),
    );
  }

  async consume(hash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord | null> {
    const { keys } = this;
    const flat = (await guarded(
      CONSUME.run(this.client, [keys.oneTimeToken(purpose, hash)], [this.clock.now(), keys.userOneTimeTokens(purpose, '')]),
    )) as string[] | null;
    return flat ? fromFields(flat) : null;
  }

  async deleteForUser(userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const { keys } = this;
    const voided = await guarded(
      DELETE_FOR_USER.run(this.client, [keys.userOneTimeTokens(purpose, userId)], [this.clock.now(), keys.oneTimeTokenPrefix(purpose)]),
    );
    return Number(voided);
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
