// What every instance must hear at once: ended sessions (for the revocation check) and changed users (for the user copies), over LISTEN/NOTIFY.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import { EndedSessions } from '../ended-sessions';
import { LiveSessions } from '../live-sessions';
import type { RevocationCheck } from '../types';

/** How often the listening connection is probed; an unanswered probe drops it. */
const HEARTBEAT_MS = 1000;
const PROBE_TIMEOUT_MS = 1500;
/** Pause before listening again after a failed attempt. */
const RETRY_DELAY_MS = 250;

/**
 * The NOTIFY channel of one schema; its payloads are "s <revoked until, ms> <session id>" and
 * "u <user id>". Channels are database-wide; one named after the schema keeps deployments apart.
 */
export function changeChannel(schema: string): string {
  // A fixed length: channel names stop at 63 bytes, and a schema name may take 63 alone.
  return `auth_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
}

export interface ChangeFeedOptions {
  /** The PostgreSQL URL to listen on; null for PGlite, where this process is the only writer. */
  listenUrl: string | null;
  schema: string;
  clock: Clock;
  /** Sessions ended and not yet past their `revoked until` (read back after every (re)connect). */
  readRevoked(): Promise<{ sessionId: string; until: number }[]>;
  /** The per-request lookup in the database, used whenever the local copy cannot be trusted. */
  fallback: RevocationCheck;
  logger: Logger;
}

/**
 * Every instance keeps the ids of the sessions ended within the last access-token lifetime, and
 * hears of each ended session and changed user through one NOTIFY channel. Ending a session
 * deletes it, records it as revoked and notifies in one transaction, so an instance that listens
 * first and then reads the revoked table misses nothing. While the listening connection is down
 * or not yet read back, every check asks the database instead: never a pass for a revoked token,
 * at worst a 503. With PGlite there is no other process: once the table has been read at start,
 * this one's own ends are all there is.
 */
export class ChangeFeed implements RevocationCheck {
  private readonly ended = new EndedSessions();
  /** Sessions the store has answered live: while the copy is current, their tokens need no round trip. */
  private readonly live = new LiveSessions();
  /** Called with a user id, or null when every copy must go (changes may have been missed). */
  private readonly userListeners = new Set<(userId: string | null) => void>();
  /** Bumped by every connection change, so that a stale attempt cannot mark the copy current. */
  private generation = 0;
  private client: pg.Client | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private lostLogged = false;
  private synced = false;
  /** PGlite's read of the revoked table at start: close() waits for it (closing PGlite mid-query hangs). */
  private reading: Promise<void> | null = null;

  constructor(private readonly options: ChangeFeedOptions) {}

  start(): void {
    if (this.options.listenUrl === null) {
      this.reading = this.readBack();
      return;
    }
    void this.listen();
    this.heartbeat = setInterval(() => this.probe(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** True while the local copy is known to hold every session ended and every user changed. */
  get isCurrent(): boolean {
    return this.synced && !this.closed;
  }

  /** Whether this instance knows the session has ended, without asking the database. */
  has(sessionId: string): boolean {
    return this.ended.has(sessionId);
  }

  async isActive(sessionId: string): Promise<boolean> {
    if (this.ended.has(sessionId)) return false;
    const current = this.isCurrent;
    if (current && this.live.has(sessionId)) return true;
    const active = await this.options.fallback.isActive(sessionId);
    // An end after this answer reaches the copy of ended sessions, which is asked first.
    if (active && current) this.live.add(sessionId);
    return active;
  }

  /** Records an ended session; called for this instance's own ends before their response leaves. */
  sessionEnded(sessionId: string, revokedUntil: number): void {
    this.ended.add(sessionId, revokedUntil, this.options.clock.now());
  }

  /** Tells the user copies to drop a user; called for this instance's own changes before they resolve. */
  userChanged(userId: string): void {
    for (const listener of this.userListeners) listener(userId);
  }

  onUserChanged(listener: (userId: string | null) => void): void {
    this.userListeners.add(listener);
  }

  /** Forgets sessions whose access tokens have all expired. */
  prune(): void {
    this.ended.prune(this.options.clock.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.synced = false;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
    await this.reading;
  }

  private receive(payload: string): void {
    if (payload.startsWith('u ')) {
      this.userChanged(payload.slice(2));
      return;
    }
    const [kind, until, sessionId] = payload.split(' ');
    if (kind === 's' && sessionId && Number.isFinite(Number(until))) this.sessionEnded(sessionId, Number(until));
  }

  /**
   * PGlite: nothing to listen to, but sessions ended before this process started are in the
   * table, not in this copy, until it has been read once.
   */
  private async readBack(): Promise<void> {
    try {
      const revoked = await this.options.readRevoked();
      if (this.closed) return;
      for (const { sessionId, until } of revoked) this.sessionEnded(sessionId, until);
      this.synced = true;
    } catch {
      if (this.closed) return;
      this.retry = setTimeout(() => (this.reading = this.readBack()), RETRY_DELAY_MS);
      this.retry.unref();
    }
  }

  /** Listens first, then reads the revoked table back: what was notified before the LISTEN is in the table. */
  private async listen(): Promise<void> {
    const { listenUrl, schema, logger } = this.options;
    const generation = ++this.generation;
    const client = new pg.Client({
      connectionString: listenUrl!,
      connectionTimeoutMillis: PROBE_TIMEOUT_MS,
      query_timeout: PROBE_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'auth-server:changes',
    });
    client.on('notification', (message) => {
      if (message.channel === changeChannel(schema) && message.payload) this.receive(message.payload);
    });
    client.on('error', () => this.lose(client));
    client.on('end', () => this.lose(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(changeChannel(schema))}`);
      const revoked = await this.options.readRevoked();
      if (generation !== this.generation || this.closed) return;
      for (const { sessionId, until } of revoked) this.sessionEnded(sessionId, until);
      this.synced = true;
      if (this.lostLogged) logger.info('change feed is back: revocations and user changes heard again');
      this.lostLogged = false;
    } catch {
      this.lose(client);
    }
  }

  /** Marks the copy stale, drops the connection and listens again shortly. */
  private lose(client: pg.Client): void {
    if (client !== this.client || this.closed) return;
    this.client = null;
    this.generation += 1;
    // User changes may be missed from now on: drop every copy, and keep no read in flight.
    for (const listener of this.userListeners) listener(null);
    if (this.synced && !this.lostLogged) {
      this.options.logger.warn('change feed lost: checking each session in the database until it is back');
      this.lostLogged = true;
    }
    this.synced = false;
    this.live.clear();
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.listen(), RETRY_DELAY_MS);
    this.retry.unref();
  }

  /**
   * A link that dies silently (no FIN, no RST) would leave the copy "current" while notifications
   * are lost: a probe unanswered within PROBE_TIMEOUT_MS drops the connection.
   */
  private probe(): void {
    const client = this.client;
    if (this.closed || !client || !this.synced) return;
    client.query('SELECT 1').catch(() => this.lose(client));
  }
}
