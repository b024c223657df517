// Finds a Redis for the Redis rows (REDIS_URL, else one answering at 127.0.0.1:6379) and removes the bench's keys after.
import { Redis } from 'ioredis';

export interface BenchRedis {
  url: string;
  /** host:port, never the credentials a URL may carry. */
  where: string;
  version: string;
  /** Every key and channel of this run starts with it. */
  prefix: string;
}

/** The Redis to use, or null (with the reason) when none answers. */
export async function findRedis(prefix: string): Promise<{ redis: BenchRedis } | { skipped: string }> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const parsed = new URL(url);
    return { redis: { url, where: `${parsed.hostname}:${parsed.port || '6379'}`, version, prefix } };
  } catch {
    const origin = process.env.REDIS_URL ? 'REDIS_URL does not answer' : 'REDIS_URL is not set and nothing answers at 127.0.0.1:6379';
    return { skipped: origin };
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under the run's prefix (and only those). */
export async function deleteKeys(redis: BenchRedis): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}
