// The local copy of recently ended sessions that verifyToken reads, kept current over Redis pub/sub.
import type { Redis } from 'ioredis';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import { randomId } from '../../lib/random-id';
import { EndedSessions } from '../ended-sessions';
import { LiveSessions } from '../live-sessions';
import type { RevocationCheck } from '../types';
import { EXPIRY_MARGIN_MS, type RedisClient } from './connection';
import type { RedisKeys } from './keys';

/** How often the subscription is probed; a probe unanswered within the command timeout drops it. */
const HEARTBEAT_MS = 1000;
/** Pause before trying again to read the revoked set after a failed attempt. */
const RESYNC_DELAY_MS = 250;

export interface RevocationFeedOptions {
  client: RedisClient;
  /** A connection of its own, to one Redis or to one node of a cluster (classic pub/sub reaches every node): it only listens. */
  subscriber: Redis;
  keys: RedisKeys;
  clock: Clock;
  accessTtlMs: number;
  /** The per-request lookup in Redis, used whenever the local copy cannot be trusted. */
  fallback: RevocationCheck;
  logger: Logger;
  /** Told the id of each user updated or deleted on any instance, as the message arrives. */
  onUserChanged?(userId: string): void;
  /**
   * Told each time the feed is lost or closed: messages may go unheard from then on, so whatever
   * was kept on the strength of them (the users copy) must go.
   */
  onLost?(): void;
}

/**
 * The same subscription carries the ids of changed users (keys.userChangedChannel), so that the
 * users copy is trusted exactly while this feed is current.
 *
 * Every instance keeps the ids of the sessions ended in the last access-token lifetime (a few
 * hundred bytes each). Ending a session publishes its id in the Lua step that deletes it and
 * adds it to the revoked set (on a cluster, where the set is a key in a slot of its own, in a
 * step of its own right after, whose failure fails the ending request), which an instance reads
 * back after it subscribes. An instance is never "current" while it
 * could have missed a message: it trusts its copy of live sessions only for sessions that Redis
 * answered live while it was subscribed (every end after that answer reaches it), and forgets
 * them whenever the subscription drops. So an end it missed concerns a session it will ask Redis
 * about, where the session is gone; the revoked set only spares it those round trips. While the
 * subscription is down or not yet read back, or for one access-token lifetime after Redis has
 * lost its data, every check asks Redis instead: never a pass for a revoked token, at worst a 503.
 */
export class RevocationFeed implements RevocationCheck {
  /** Ended session id → when its last access token has surely expired (ms). */
  private readonly ended = new EndedSessions();
  /** Sessions the store has answered live: while the copy is current, their tokens need no round trip. */
  private readonly live = new LiveSessions();
  private synced = false;
  /** Bumped by every connection change, so that a stale sync attempt cannot mark the copy current. */
  private generation = 0;
  private epoch: string | null = null;
  private strictUntil = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RevocationFeedOptions) {}

  start(): void {
    const { subscriber, keys } = this.options;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.revokedChannel) this.receive(message);
      else if (channel === keys.userChangedChannel) this.options.onUserChanged?.(message);
    });
    subscriber.on('ready', () => void this.sync());
    subscriber.on('close', () => this.lose());
    this.heartbeat = setInterval(() => this.probe(), HEARTBEAT_MS);
    this.heartbeat.unref();
    if (subscriber.status === 'ready') void this.sync();
  }

  /** True while the local copy is known to hold every session ended in Redis. */
  get isCurrent(): boolean {
    return this.synced && !this.closed;
  }

  /** Ended sessions remembered locally. */
  get size(): number {
    return this.ended.size;
  }

  /** Whether this instance knows the session has ended, without asking Redis. */
  has(sessionId: string): boolean {
    return this.ended.has(sessionId);
  }

  async isActive(sessionId: string): Promise<boolean> {
    if (this.ended.has(sessionId)) return false;
    const trusted = this.trusted();
    if (trusted && this.live.has(sessionId)) return true;
    // Noted before asking: an answer is kept only if the feed was current before the question and
    // stayed the same connection, still current, until the answer. A drop in between could hide
    // the message of an end that came after Redis answered, and nothing would ever take the
    // session out of the live copy again.
    const generation = this.generation;
    const active = await this.options.fallback.isActive(sessionId);
    if (!active || this.ended.has(sessionId)) return false;
    // An end after this answer reaches the copy of ended sessions, which is asked first.
    if (trusted && generation === this.generation && this.trusted()) this.live.add(sessionId);
    return true;
  }

  /** Whether the copy of live sessions may answer: the feed is current and Redis has not lost its data lately. */
  private trusted(): boolean {
    return this.isCurrent && this.options.clock.now() >= this.strictUntil;
  }

  /** Records an ended session; called for this instance's own ends before their response leaves. */
  add(sessionId: string, revokedUntil: number): void {
    this.ended.add(sessionId, revokedUntil, this.options.clock.now());
  }

  /** Forgets sessions whose access tokens have all expired. */
  prune(): void {
    this.ended.prune(this.options.clock.now());
  }

  close(): void {
    this.closed = true;
    this.synced = false;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    this.options.onLost?.();
  }

  private receive(message: string): void {
    const space = message.indexOf(' ');
    const until = Number(message.slice(0, space));
    const sessionId = message.slice(space + 1);
    if (space > 0 && sessionId !== '' && Number.isFinite(until)) this.add(sessionId, until);
  }

  private lose(): void {
    this.generation += 1;
    clearTimeout(this.retry);
    if (this.synced && !this.closed) {
      this.options.logger.warn('revocation feed lost: checking each session in Redis until it is back');
    }
    this.synced = false;
    this.live.clear();
    this.options.onLost?.();
  }

  /** Subscribes, then reads back the revoked set: what was published before the subscription is in the set. */
  private async sync(): Promise<void> {
    const { client, subscriber, keys, clock, accessTtlMs, logger } = this.options;
    const generation = ++this.generation;
    clearTimeout(this.retry);
    try {
      await subscriber.subscribe(keys.revokedChannel, keys.userChangedChannel);
      const entries = await client.zrangebyscore(keys.revoked, `(${clock.now()}`, '+inf', 'WITHSCORES');
      await client.set(keys.epoch, randomId(), 'NX');
      const epoch = await client.get(keys.epoch);
      if (generation !== this.generation || this.closed) return;
      for (let i = 0; i + 1 < entries.length; i += 2) this.add(entries[i]!, Number(entries[i + 1]));
      if (this.epoch !== null && epoch !== this.epoch) {
        // Redis came back empty (restarted without persistence, or flushed): the ids of sessions
        // ended before are gone from it, so trust only Redis until their tokens have expired.
        this.strictUntil = clock.now() + accessTtlMs + EXPIRY_MARGIN_MS;
        logger.warn('Redis has lost its data: sessions are checked in Redis per request for one access-token lifetime');
      }
      this.epoch = epoch;
      this.synced = true;
    } catch {
      if (generation !== this.generation || this.closed) return;
      this.retry = setTimeout(() => void this.sync(), RESYNC_DELAY_MS);
      this.retry.unref();
    }
  }

  /**
   * A link that dies silently (no FIN, no RST) would leave the copy "current" while messages are
   * lost: a PING unanswered within the command timeout drops the connection, which marks the copy
   * stale until the reconnect has read the revoked set again.
   */
  private probe(): void {
    const { subscriber } = this.options;
    if (this.closed || subscriber.status !== 'ready') return;
    subscriber.ping().catch(() => {
      if (!this.closed && subscriber.status === 'ready') subscriber.disconnect(true);
    });
  }
}
