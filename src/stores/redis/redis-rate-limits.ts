// Redis fixed-window counters for the rate limiters, shared by every instance, on the injected clock.
import type { Clock } from '../../lib/clock';
import type { RateLimitCounter } from '../types';
import { EXPIRY_MARGIN_MS, guarded, LuaScript, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/**
 * KEYS[1] the window. ARGV: now, windowMs, margin. The window ends on the app's clock (resetAt),
 * as in memory; the key's TTL only bounds what Redis holds.
 */
const INCREMENT = new LuaScript(`
local now = tonumber(ARGV[1])
local window = redis.call('HMGET', KEYS[1], 'hits', 'resetAt')
local hits, reset_at = tonumber(window[1]), tonumber(window[2])
if not reset_at or reset_at <= now then
  hits, reset_at = 0, now + tonumber(ARGV[2])
end
hits = hits + 1
redis.call('HSET', KEYS[1], 'hits', hits, 'resetAt', string.format('%d', reset_at))
redis.call('PEXPIRE', KEYS[1], string.format('%d', reset_at - now + tonumber(ARGV[3])))
return {hits, string.format('%d', reset_at)}
`);

/** KEYS[1] the window: takes one hit back, never below zero. */
const DECREMENT = new LuaScript(`
local hits = tonumber(redis.call('HGET', KEYS[1], 'hits'))
if hits and hits > 0 then redis.call('HINCRBY', KEYS[1], 'hits', -1) end
return 0
`);

export class RedisRateLimitCounter implements RateLimitCounter {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async increment(key: string, windowMs: number): Promise<{ totalHits: number; resetTime: Date }> {
    const [hits, resetAt] = (await guarded(
      INCREMENT.run(this.client, [this.keys.rateLimit(key)], [this.clock.now(), windowMs, EXPIRY_MARGIN_MS]),
    )) as [number, string];
    return { totalHits: Number(hits), resetTime: new Date(Number(resetAt)) };
  }

  async decrement(key: string): Promise<void> {
    await guarded(DECREMENT.run(this.client, [this.keys.rateLimit(key)], []));
  }

  async resetKey(key: string): Promise<void> {
    await guarded(this.client.del(this.keys.rateLimit(key)));
  }
}
