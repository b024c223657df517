// The Redis the tests use (REDIS_URL, else 127.0.0.1:6379 if it answers), a key prefix per run, and cleanup of only those keys.
import { Redis } from 'ioredis';
import { randomId } from '../../src/lib/random-id';
import { createLogger } from '../../src/lib/logger';
import { createRedisStores, type RedisStores } from '../../src/stores/redis';
import type { Clock } from '../../src/lib/clock';
import { describeWithService, tcpAnswers, type FoundService } from './services';

const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/** REDIS_URL when set (used even if it does not answer: then the tests fail), else the local one if it answers. */
function findRedis(): FoundService {
  const given = process.env.REDIS_URL;
  if (given) return { url: given, tried: 'REDIS_URL' };
  return { url: tcpAnswers(LOCAL_REDIS, 6379) ? LOCAL_REDIS : null, tried: '127.0.0.1:6379' };
}

export const REDIS = findRedis();

/** describe() for suites that need Redis: skipped without one, except in CI (see services.ts). */
export function describeWithRedis(name: string, body: (url: string) => void): void {
  const service = {
    name: 'Redis',
    found: REDIS,
    howToGetOne: 'start redis-server or set REDIS_URL',
    ciSetup: '.ci/setup-redis.sh exports REDIS_URL',
  };
  describeWithService(service, name, body);
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `test:${randomId()}:`;
}

/** Deletes every key under `prefix`, and only those. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A plain client for looking at what the stores wrote. */
export function inspector(url: string): Redis {
  return new Redis(url);
}

/** Redis stores under `prefix`, connected and with a current revocation feed. */
export async function openRedisStores(
  url: string,
  prefix: string,
  clock: Clock,
  accessTtlMs = 15 * 60_000,
): Promise<RedisStores> {
  const stores = createRedisStores({ url, keyPrefix: prefix, clock, accessTtlMs, logger: createLogger('silent') });
  try {
    await stores.whenReady(5000);
  } catch (error) {
    await stores.close();
    throw error;
  }
  return stores;
}
