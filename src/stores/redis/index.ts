// Builds the Redis stores: the choice when REDIS_URL is set (one Redis or a Redis Cluster), so that many instances share one state.
import type { Clock } from '../../lib/clock';
import { createLogger, type Logger } from '../../lib/logger';
import type { RevocationCheck, Stores } from '../types';
import { describeRedisTarget } from '../../config/redis-target';
import { guarded, isCluster, openClient, openSubscriber, unavailable, type RedisClient } from './connection';
import { redisKeys } from './keys';
import { RedisAuditStore } from './redis-audit';
import { RedisMfaStore } from './redis-mfa';
import { RedisOneTimeTokenStore } from './redis-one-time-tokens';
import { RedisRateLimitCounter } from './redis-rate-limits';
import { RedisSessionStore } from './redis-sessions';
import { RedisUserStore } from './redis-users';
import { RevocationFeed } from './revocation-feed';

export { RedisAuditStore, RedisMfaStore, RedisOneTimeTokenStore, RedisRateLimitCounter, RedisSessionStore, RedisUserStore, RevocationFeed };

export interface RedisStoresOptions {
  /** redis:// or rediss:// for one Redis; redis+cluster:// or rediss+cluster:// for a cluster (see target.ts). */
  url: string;
  /** Prepended to every key and channel, so that several deployments can share one Redis. */
  keyPrefix: string;
  clock: Clock;
  /** Access token lifetime (ms): how long an ended session's id must be remembered as revoked. */
  accessTtlMs: number;
  logger?: Logger;
  /** How many audit events to keep (the newest); REDIS_AUDIT_MAX_EVENTS by default. */
  auditMaxEvents?: number;
}

export interface RedisStores extends Stores {
  users: RedisUserStore;
  revocations: RevocationFeed;
  /**
   * Resolves once Redis answers and the revocation feed is current; otherwise rejects after
   * `timeoutMs` with a message fit for an operator (never the URL's credentials).
   */
  whenReady(timeoutMs: number): Promise<void>;
}

/**
 * Opens two connections (commands, and the subscription that carries ended sessions and changed
 * users); both reconnect on their own.
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  const { url, clock, accessTtlMs } = options;
  const logger = options.logger ?? createLogger('silent');
  const target = describeRedisTarget(url);
  const client = openClient(url, 'auth-server');
  const keys = redisKeys(options.keyPrefix, isCluster(client) ? 'cluster' : 'single');
  const subscriber = openSubscriber(url, 'auth-server:revocations', client);
  const closing = { now: false };
  const lastError = watch(client, target, logger, closing);
  watch(subscriber, target, null, closing);

  const sessions: RedisSessionStore = new RedisSessionStore({
    client,
    keys,
    clock,
    accessTtlMs,
    onEnded: (sessionId, until) => revocations.add(sessionId, until),
  });
  const fallback: RevocationCheck = { isActive: (sessionId) => sessions.isActive(sessionId) };
  // The users copy is trusted exactly while the feed is current: the feed carries its changes.
  const users: RedisUserStore = new RedisUserStore(client, keys, {
    get isCurrent() {
      return revocations.isCurrent;
    },
  });
  const revocations = new RevocationFeed({
    client,
    subscriber,
    keys,
    clock,
    accessTtlMs,
    fallback,
    logger,
    onUserChanged: (userId) => users.dropCopy(userId),
    onLost: () => users.dropAllCopies(),
  });
  revocations.start();

  return {
    users,
    sessions,
    rateLimits: new RedisRateLimitCounter(client, keys, clock),
    oneTimeTokens: new RedisOneTimeTokenStore(client, keys, clock),
    mfa: new RedisMfaStore(client, keys),
    audit: new RedisAuditStore(client, keys, clock, options.auditMaxEvents, logger),
    revocations,

    async ping() {
      await guarded(client.ping());
      if (!revocations.isCurrent) throw unavailable();
    },

    // Redis expires keys by itself (sessions, counters, one-time tokens); what is left is this
    // instance's own copy of ended sessions, and old entries of the revoked set. Never rejects:
    // it runs from a timer.
    async sweep() {
      revocations.prune();
      await client.zremrangebyscore(keys.revoked, '-inf', clock.now()).catch(() => undefined);
    },

    async close() {
      closing.now = true;
      revocations.close();
      await Promise.all([quit(client), quit(subscriber)]);
    },

    whenReady(timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const check = setInterval(() => {
          if (client.status === 'ready' && revocations.isCurrent) {
            clearInterval(check);
            resolve();
          } else if (Date.now() - started >= timeoutMs) {
            clearInterval(check);
            const why = lastError() ?? `no answer within ${Math.round(timeoutMs / 1000)}s`;
            reject(new Error(`cannot reach Redis at ${target} (REDIS_URL): ${why}`));
          }
        }, 25);
      });
    },
  };
}

/**
 * Logs when a connection is lost and when it is back (once each, not at every retry), and keeps
 * the last failure in words that cannot contain the URL's credentials.
 */
function watch(client: RedisClient, target: string, logger: Logger | null, closing: { now: boolean }): () => string | null {
  let last: string | null = null;
  let down = false;
  const lost = (reason?: string) => {
    if (!down && !closing.now) logger?.warn({ redis: target, reason }, 'Redis connection lost');
    down = true;
  };
  client.on('error', (error: Error & { code?: string; lastNodeError?: Error & { code?: string } }) => {
    last = describeFailure(error);
    lost(last);
  });
  client.on('close', () => lost());
  client.on('ready', () => {
    if (down) logger?.info({ redis: target }, 'Redis connection is back');
    down = false;
    last = null;
  });
  return () => last;
}

function describeFailure(error: Error & { code?: string; lastNodeError?: Error & { code?: string } }): string {
  if (error.code) return error.code;
  // The cluster client reports that no seed node told it the cluster's layout; the nodes' own
  // errors (ECONNREFUSED...) reach it only as "Connection is closed.".
  if (error.lastNodeError?.code) return error.lastNodeError.code;
  if (error.name === 'ClusterAllFailedError') return 'no node of the cluster answered';
  if (/WRONGPASS|NOAUTH|NOPERM/.test(error.message)) return 'it refused the credentials';
  if (/timed? ?out/i.test(error.message)) return 'timed out';
  return 'connection failed';
}

/** Closes a connection politely when it can, and resolves once it is closed (at most ~2 s later). */
async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  if (client.status === 'end') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2500);
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    client.disconnect();
    // Between two attempts there is no socket: disconnect() only cancels the next attempt.
    if (client.status === 'reconnecting' || client.status === 'close') {
      clearTimeout(timer);
      resolve();
    }
  });
}
