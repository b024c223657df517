// Redis connections of the stores: fail fast while Redis is away, reconnect by themselves, never print a password.
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../../errors';

/** How long one command may take before the request that needs it gets a 503. */
export const COMMAND_TIMEOUT_MS = 1000;

/**
 * Redis keys outlive the end the store computes on the injected clock by this much, so that a
 * difference between the app's clock and Redis's never drops live data early. Ended sessions are
 * remembered as revoked this much longer than their last access token lives, for the same reason
 * between instances.
 */
export const EXPIRY_MARGIN_MS = 60_000;

/** Opens a client that starts connecting at once and keeps reconnecting until closed. */
export function openClient(url: string, name: string): Redis {
  const options: RedisOptions = {
    connectionName: name,
    // A command while disconnected fails at once (a fast 503) instead of waiting in a queue.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail too, instead of being re-sent much later.
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // A socket that stops answering (Redis frozen, a network partition) is dropped and reconnected.
    socketTimeout: 2 * COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // The revocation feed resubscribes itself, and then re-reads what it may have missed.
    autoResubscribe: false,
  };
  return new Redis(url, options);
}

/** Scheme, host, port and database of a Redis URL: what a message may show (never the credentials). */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? parsed.pathname : '';
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}${db}`;
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

  async run(client: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as { message?: unknown }).message).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
