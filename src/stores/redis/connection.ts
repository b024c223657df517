// Redis connections of the stores: fail fast while Redis is away, reconnect by themselves, never print a password.
import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { AppError } from '../../errors';
import { parseRedisTarget, type ClusterNode } from '../../config/redis-target';

/** A connection for commands: to one Redis, or to a Redis Cluster (which routes each command by its key). */
export type RedisClient = Redis | Cluster;

/** How long one command may take before the request that needs it gets a 503. */
export const COMMAND_TIMEOUT_MS = 1000;

/**
 * Redis keys outlive the end the store computes on the injected clock by this much, so that a
 * difference between the app's clock and Redis's never drops live data early. Ended sessions are
 * remembered as revoked this much longer than their last access token lives, for the same reason
 * between instances.
 */
export const EXPIRY_MARGIN_MS = 60_000;

/** What every connection shares: fail fast while Redis is away, reconnect by itself. */
const BASE_OPTIONS: RedisOptions = {
  // A command while disconnected fails at once (a fast 503) instead of waiting in a queue.
  enableOfflineQueue: false,
  // Commands in flight when the connection drops fail too, instead of being re-sent much later.
  maxRetriesPerRequest: 0,
  commandTimeout: COMMAND_TIMEOUT_MS,
  // A socket that stops answering (Redis frozen, a network partition) is dropped and reconnected.
  socketTimeout: 2 * COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  // The revocation feed resubscribes itself, and then re-reads what it may have missed.
  autoResubscribe: false,
};

const retryDelay = (attempt: number) => Math.min(attempt * 100, 1000);

/**
 * Opens a client for commands that starts connecting at once and keeps reconnecting until closed:
 * a plain connection for redis:// and rediss://, ioredis's cluster client for redis+cluster://.
 */
export function openClient(url: string, name: string): RedisClient {
  const target = parseRedisTarget(url);
  if (target?.kind !== 'cluster') return new Redis(url, { ...BASE_OPTIONS, connectionName: name, retryStrategy: retryDelay });
  const options: ClusterOptions = {
    redisOptions: { ...BASE_OPTIONS, ...nodeCredentials(target), connectionName: name },
    enableOfflineQueue: false,
    clusterRetryStrategy: retryDelay,
    // Reads from replicas could miss a write made a moment before: every command goes to the primary.
    scaleReads: 'master',
    // A failover or a slot on the move: ask again shortly, a bounded number of times.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    // With TLS the certificates name the hosts as given, not the addresses they resolve to.
    ...(target.tls ? { dnsLookup: (address: string, done: (error: null, address: string) => void) => done(null, address) } : {}),
  };
  return new Cluster(target.nodes, options);
}

/**
 * Opens the connection the revocation feed listens on. On a cluster a classic PUBLISH reaches
 * every node, so one plain connection to any node hears every message; unlike the cluster
 * client's own subscriber, it tells the feed when it drops (so that the feed reads back what it
 * missed) and its heartbeat PING travels on the very socket that carries the messages. When that
 * node is gone, each reconnection tries the next node the cluster client knows of.
 */
export function openSubscriber(url: string, name: string, client: RedisClient): Redis {
  const target = parseRedisTarget(url);
  if (target?.kind !== 'cluster') return new Redis(url, { ...BASE_OPTIONS, connectionName: name, retryStrategy: retryDelay });
  const seeds = target.nodes;
  let turn = 0;
  const subscriber: Redis = new Redis({
    ...BASE_OPTIONS,
    ...nodeCredentials(target),
    connectionName: name,
    host: seeds[0]!.host,
    port: seeds[0]!.port,
    retryStrategy: (attempt) => {
      const known = client instanceof Cluster ? client.nodes('all').map((node) => ({ host: node.options.host, port: node.options.port })) : [];
      const candidates = unique([...known, ...seeds]);
      turn += 1;
      const next = candidates[turn % candidates.length]!;
      // ioredis reads host and port from its options at each connection attempt.
      subscriber.options.host = next.host;
      subscriber.options.port = next.port;
      return retryDelay(attempt);
    },
  });
  return subscriber;
}

function nodeCredentials(target: { username?: string; password?: string; tls: boolean }): RedisOptions {
  return {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  };
}

function unique(nodes: { host?: string; port?: number }[]): ClusterNode[] {
  const seen = new Map<string, ClusterNode>();
  for (const { host, port } of nodes) if (host && port) seen.set(`${host}:${port}`, { host, port });
  return [...seen.values()];
}

/** Whether the client is a Redis Cluster client: the key layout then carries hash tags (see keys.ts). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}


/** The contract's 503: the answer to any request that needs Redis while it cannot be reached. */
export function unavailable(cause?: unknown): AppError {
  return new AppError('unavailable', { description: 'A backing store is unreachable.', cause });
}

/**
 * Replies that mean "not now" (loading, failing over, out of memory under noeviction) or "not
 * with these credentials", not "your command is wrong".
 */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM|NOAUTH|WRONGPASS)\b/;

/**
 * A failure to reach Redis becomes the contract's 503 `unavailable`; an error Redis answered for a
 * well-formed connection (a bug in a script, say) stays what it is and becomes a 500.
 */
export function storeError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (name === 'ReplyError' && !UNAVAILABLE_REPLIES.test(String(message))) return error;
  return unavailable(error);
}

/** Awaits a Redis call, turning connection trouble into AppError('unavailable'). */
export async function guarded<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw storeError(error);
  }
}

/** A Lua script run by its SHA1, sent in full only when Redis does not have it yet. */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as { message?: unknown }).message).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
