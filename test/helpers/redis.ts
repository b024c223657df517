// The Redis the tests use (REDIS_URL, else 127.0.0.1:6379 if it answers), a key prefix per run, and cleanup of only those keys.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { randomId } from '../../src/lib/random-id';
import { createLogger } from '../../src/lib/logger';
import { createRedisStores, type RedisStores } from '../../src/stores/redis';
import type { Clock } from '../../src/lib/clock';
import { inCi } from './ci';

const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/** Whether a TCP connection to the URL's host and port opens within two seconds (checked in a child: describe() is synchronous). */
function answers(url: string): boolean {
  const { hostname, port } = new URL(url);
  const script = `require('net').connect({host: process.argv[1], port: +process.argv[2]})
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script, hostname, port || '6379'], { timeout: 5000 }).status === 0;
}

/** REDIS_URL when set (used even if it does not answer: then the tests fail), else the local one if it answers. */
function findRedis(): { url: string | null; tried: string } {
  const given = process.env.REDIS_URL;
  if (given) return { url: given, tried: 'REDIS_URL' };
  return { url: answers(LOCAL_REDIS) ? LOCAL_REDIS : null, tried: '127.0.0.1:6379' };
}

export const REDIS = findRedis();

/**
 * describe() for suites that need Redis. Without one they are skipped with a line saying so,
 * except in CI (see ci.ts), where a missing Redis fails.
 */
export function describeWithRedis(name: string, body: (url: string) => void): void {
  if (REDIS.url) {
    const url = REDIS.url;
    describe(name, () => body(url));
    return;
  }
  if (inCi()) {
    describe(name, () => {
      it('has a Redis server to run against (CI)', () => {
        throw new Error(`no Redis at ${REDIS.tried}: CI must provide one (.ci/setup-redis.sh exports REDIS_URL)`);
      });
    });
    return;
  }
  console.warn(`${name}: SKIPPED, no Redis at ${REDIS.tried} (start redis-server or set REDIS_URL)`);
  describe.skip(`${name} (SKIPPED: no Redis at ${REDIS.tried})`, () => body(''));
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
