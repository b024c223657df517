// Opens the stores the configuration asks for: memory (the default), Redis, or a database (PostgreSQL or PGlite), Redis counters beside it when both are set.
import type { Config } from '../config';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import { createMemoryStores } from './memory';
import { createRedisStores } from './redis';
import { describeRedisTarget } from '../config/redis-target';
import { guarded, isCluster, openClient } from './redis/connection';
import { redisKeys } from './redis/keys';
import { RedisRateLimitCounter } from './redis/redis-rate-limits';
import { openSqlStores } from './sql';
import type { Stores } from './types';

/** How long start-up waits for Redis, or for the database's change feed, to answer. */
const START_TIMEOUT_MS = 5_000;

/** The advice of the memory default's start-up line; the README's quick start repeats it. */
export const MEMORY_STORAGE_NOTICE =
  'accounts and sessions are kept in memory and lost on restart; to keep them, set DATABASE_URL=file:./data/auth (see "Storage" in the README)';

export interface OpenStoresOptions {
  clock: Clock;
  logger: Logger;
}

/**
 * The stores for this configuration, ready to serve. Throws an Error with one line fit for an
 * operator (naming the variable, never a password) when the database cannot be opened, reached or
 * migrated, and when Redis does not answer in production.
 */
export async function openStores(config: Config, { clock, logger }: OpenStoresOptions): Promise<Stores> {
  if (config.database) return openDatabaseStores(config, config.database, { clock, logger });
  if (config.redis) return openRedisStores(config, config.redis, { clock, logger });
  logger.warn(MEMORY_STORAGE_NOTICE);
  return createMemoryStores(clock);
}

async function openDatabaseStores(
  config: Config,
  database: NonNullable<Config['database']>,
  { clock, logger }: OpenStoresOptions,
): Promise<Stores> {
  // With REDIS_URL too, Redis keeps the rate-limit counters (its atomic scripts cost no table writes).
  const redisCounters = config.redis ? redisRateLimits(config.redis, clock) : null;
  let stores;
  try {
    stores = await openSqlStores({
      target: database,
      clock,
      accessTtlMs: config.jwt.accessTtlSec * 1000,
      logger,
      rateLimits: redisCounters?.counter,
      auditRetentionMs: config.audit.retentionMs,
    });
  } catch (error) {
    await redisCounters?.close();
    const message = (error as Error).message;
    throw new Error(message.includes('DATABASE_URL') ? message : `${message} (DATABASE_URL)`, { cause: error });
  }
  try {
    await stores.whenReady(START_TIMEOUT_MS);
  } catch (error) {
    if (config.nodeEnv === 'production') {
      await stores.close();
      await redisCounters?.close();
      throw error;
    }
    logger.warn(`${(error as Error).message}; starting anyway, each session is checked in the database until it is`);
  }
  const where = database.kind === 'postgres' ? stores.database.description : database.directory;
  logger.info(
    { database: database.kind, at: where, schema: database.schema, migrated: stores.migrations.applied },
    database.kind === 'postgres' ? 'stores in PostgreSQL' : 'stores in an embedded PGlite directory (one process)',
  );
  if (!redisCounters) return stores;
  return {
    ...stores,
    ping: async () => {
      await stores.ping();
      await redisCounters.ping();
    },
    close: async () => {
      await stores.close();
      await redisCounters.close();
    },
  };
}

/** Rate-limit counters in Redis alone, beside a database that holds the records. */
function redisRateLimits(redis: NonNullable<Config['redis']>, clock: Clock) {
  const client = openClient(redis.url, 'auth-server:rate-limits');
  client.on('error', () => undefined);
  return {
    counter: new RedisRateLimitCounter(client, redisKeys(redis.keyPrefix, isCluster(client) ? 'cluster' : 'single'), clock),
    ping: async () => {
      await guarded(client.ping());
    },
    close: async () => {
      client.disconnect();
    },
  };
}

/**
 * The Redis stores, once Redis answers. Production refuses to start without it; elsewhere the
 * server starts anyway and answers 503 until Redis is reachable.
 */
async function openRedisStores(config: Config, redis: NonNullable<Config['redis']>, { clock, logger }: OpenStoresOptions): Promise<Stores> {
  const stores = createRedisStores({
    url: redis.url,
    keyPrefix: redis.keyPrefix,
    clock,
    accessTtlMs: config.jwt.accessTtlSec * 1000,
    logger,
  });
  try {
    await stores.whenReady(START_TIMEOUT_MS);
  } catch (error) {
    if (config.nodeEnv === 'production') {
      await stores.close();
      throw error;
    }
    logger.warn(`${(error as Error).message}; starting anyway, answering 503 until it is reachable`);
    return stores;
  }
  logger.info({ redis: describeRedisTarget(redis.url), keyPrefix: redis.keyPrefix }, 'stores in Redis');
  return stores;
}
