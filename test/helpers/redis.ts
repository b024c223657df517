// The Redis the tests use (REDIS_URL, else 127.0.0.1:6379 if it answers), the Redis Cluster (TEST_REDIS_CLUSTER_NODES), a key prefix per run, and cleanup of only those keys.
import { Cluster, Redis } from 'ioredis';
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

/**
 * TEST_REDIS_CLUSTER_NODES ("host:port,host:port,...", as .ci/setup-redis-cluster.sh exports it)
 * as the redis+cluster:// URL the server takes; no cluster is looked for without it.
 */
function findRedisCluster(): FoundService {
  const nodes = process.env.TEST_REDIS_CLUSTER_NODES?.trim();
  return { url: nodes ? `redis+cluster://${nodes}` : null, tried: 'TEST_REDIS_CLUSTER_NODES' };
}

export const REDIS_CLUSTER = findRedisCluster();

/** describe() for suites that need a Redis Cluster: skipped without TEST_REDIS_CLUSTER_NODES, except in CI. */
export function describeWithRedisCluster(name: string, body: (url: string) => void): void {
  const service = {
    name: 'Redis Cluster',
    found: REDIS_CLUSTER,
    howToGetOne: 'set TEST_REDIS_CLUSTER_NODES=host:port,host:port,host:port; .ci/setup-redis-cluster.sh starts one',
    ciSetup: '.ci/setup-redis-cluster.sh exports TEST_REDIS_CLUSTER_NODES',
  };
  describeWithService(service, name, body);
}

/** The seed nodes of a redis+cluster:// URL (the tests' own form: no credentials). */
function clusterNodes(url: string): { host: string; port: number }[] | null {
  if (!url.startsWith('redis+cluster://')) return null;
  return url
    .slice('redis+cluster://'.length)
    .split(',')
    .map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) }));
}

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

/** Deletes every key under `prefix`, and only those (on a cluster, from every primary). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const nodes = clusterNodes(url);
  if (!nodes) {
    const client = new Redis(url, { lazyConnect: true });
    try {
      await client.connect();
      await deleteOn(client, prefix, (keys) => client.unlink(...keys));
    } finally {
      client.disconnect();
    }
    return;
  }
  const cluster = new Cluster(nodes, { lazyConnect: true });
  try {
    await cluster.connect();
    // One UNLINK per key: a command may only name keys of one slot.
    for (const node of cluster.nodes('master')) {
      await deleteOn(node, prefix, (keys) => Promise.all(keys.map((key) => cluster.unlink(key))));
    }
  } finally {
    cluster.disconnect();
  }
}

async function deleteOn(node: Redis, prefix: string, unlink: (keys: string[]) => Promise<unknown>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await unlink(keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A plain client (a cluster client for a cluster URL) for looking at what the stores wrote. */
export function inspector(url: string): Redis | Cluster {
  const nodes = clusterNodes(url);
  return nodes ? new Cluster(nodes) : new Redis(url);
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
