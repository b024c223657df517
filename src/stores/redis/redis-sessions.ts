// Redis session store: one hash per session, a per-user index (in the user's slot on a cluster), and the ended sessions' revocation set.
import type { Clock } from '../../lib/clock';
import { NO_REFRESH_LIMIT } from '../rotation';
import type { RotationOutcome, RotationPolicy, SessionRecord, SessionStore } from '../types';
import { EXPIRY_MARGIN_MS, guarded, unavailable, type LuaScript, type RedisClient } from './connection';
import type { RedisKeys } from './keys';
import { CREATE_SESSION, END_SESSION, END_USER_SESSIONS, REMEMBER_REVOKED, ROTATE_SESSION } from './session-scripts';
import {
  SINGLE_CREATE_SESSION,
  SINGLE_END_SESSION,
  SINGLE_END_USER_SESSIONS,
  SINGLE_LIST_USER_SESSIONS,
  SINGLE_ROTATE_SESSION,
} from './single-session-scripts';

/** Session id → user id, remembered by an instance on a cluster (the pair never changes); the least recently used go first beyond this. */
const OWNER_CACHE_SIZE = 20_000;
/** Attempts of endAllForUser on a cluster when sessions keep being created under it (each attempt re-reads the index). */
const END_ALL_ATTEMPTS = 10;
/** Attempts of the revoked-set write that follows an end on a cluster, and the pause between two. */
const REVOKED_WRITE_ATTEMPTS = 3;
const REVOKED_WRITE_PAUSE_MS = 50;

export interface RedisSessionStoreOptions {
  client: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  /** Access token lifetime: how long an ended session must be remembered as revoked. */
  accessTtlMs: number;
  /** Told of every session this store ends, before the call that ended it returns. */
  onEnded(sessionId: string, revokedUntil: number): void;
}

/**
 * Expiry is decided on the injected clock (`expiresAt`), as in memory; Redis TTLs (the remaining
 * life plus EXPIRY_MARGIN_MS) only bound what Redis holds.
 *
 * On one Redis every change is one script (single-session-scripts.ts) that finds the user's index
 * and the revoked set itself: one round trip per refresh or logout, and an end is remembered as
 * revoked in the step that makes it.
 *
 * On a cluster a script must declare every key it touches, all in one slot: a script that ends
 * sessions declares their hashes and their user's index, so it must know the user, while a token
 * names only its session. The user id is read from the sessionUser key once per session and
 * instance and kept (it never changes). The revoked set lives in a slot of its own, so it is
 * written after the script, retried, and its failure fails the request that ended the session.
 */
export class RedisSessionStore implements SessionStore {
  private readonly owners = new Map<string, string>();

  constructor(private readonly options: RedisSessionStoreOptions) {}

  private get cluster(): boolean {
    return this.options.keys.layout === 'cluster';
  }

  async create(session: SessionRecord): Promise<void> {
    const { client, keys, clock } = this.options;
    if (!this.cluster) {
      await this.single(SINGLE_CREATE_SESSION, [session.id, session.expiresAt, session.userId, ...toFields(session)]);
      return;
    }
    // Written first: a session is never stored without the key that finds it (a failure in
    // between leaves only this key, which expires).
    const ttl = session.expiresAt - clock.now() + EXPIRY_MARGIN_MS;
    await guarded(client.set(keys.sessionUser(session.id), session.userId, 'PX', Math.max(ttl, 1)));
    const keyList = [keys.session(session.userId, session.id), keys.userSessions(session.userId)];
    await this.script(CREATE_SESSION, keyList, [session.id, session.expiresAt, ...toFields(session)]);
    this.remember(session.id, session.userId);
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const { client, clock } = this.options;
    const key = await this.hashOf(sessionId);
    if (key === null) return null;
    const fields = await guarded(client.hgetall(key));
    const session = Object.keys(fields).length === 0 ? null : fromFields(fields);
    return session && session.expiresAt > clock.now() ? session : null;
  }

  async isActive(sessionId: string): Promise<boolean> {
    const { client, clock } = this.options;
    const key = await this.hashOf(sessionId);
    if (key === null) return false;
    const expiresAt = await guarded(client.hget(key, 'expiresAt'));
    return expiresAt !== null && Number(expiresAt) > clock.now();
  }

  async rotate(
    sessionId: string,
    presentedJti: string,
    next: { jti: string; iat: number },
    policy: RotationPolicy,
  ): Promise<RotationOutcome> {
    const limit = policy.refreshLimit ?? NO_REFRESH_LIMIT;
    const args = [sessionId, presentedJti, next.jti, next.iat, policy.graceMs, limit.max, limit.windowMs, policy.idleTimeoutMs ?? 0];
    let reply: [RotationOutcome['kind'], string[]?, number?];
    if (this.cluster) {
      const userId = await this.ownerOf(sessionId);
      if (userId === null) return { kind: 'no_session' };
      reply = (await this.script(ROTATE_SESSION, this.keysOf(userId, sessionId), args)) as typeof reply;
    } else {
      reply = (await this.single(SINGLE_ROTATE_SESSION, args)) as typeof reply;
    }
    const [kind, flat, extra] = reply;
    if (kind === 'no_session' || !flat) return { kind: 'no_session' };
    const session = fromFields(pairs(flat));
    if (kind === 'rate_limited') return { kind, session, retryAfterMs: Number(extra) };
    if (kind === 'reused' || kind === 'idle') await this.ended([[sessionId, Number(extra)]]);
    return { kind, session };
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const { client, keys, clock } = this.options;
    if (!this.cluster) {
      const records = (await this.single(SINGLE_LIST_USER_SESSIONS, [userId])) as string[][];
      return records.map((flat) => fromFields(pairs(flat))).sort((a, b) => a.createdAt - b.createdAt);
    }
    const ids = await guarded(client.zrangebyscore(keys.userSessions(userId), `(${clock.now()}`, '+inf'));
    // Read one by one (one slot, so the cluster client sends them to one node): a session ended
    // in between is simply left out, as if listed a moment later.
    const records = await guarded(Promise.all(ids.map((id) => client.hgetall(keys.session(userId, id)))));
    return records
      .filter((fields) => Object.keys(fields).length > 0)
      .map(fromFields)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async end(sessionId: string): Promise<boolean> {
    let revokedUntil: number;
    if (this.cluster) {
      const userId = await this.ownerOf(sessionId);
      if (userId === null) return false;
      revokedUntil = Number(await this.script(END_SESSION, this.keysOf(userId, sessionId), [sessionId]));
    } else {
      revokedUntil = Number(await this.single(SINGLE_END_SESSION, [sessionId]));
    }
    if (revokedUntil === 0) return false;
    await this.ended([[sessionId, revokedUntil]]);
    return true;
  }

  async endAllForUser(userId: string, keepSessionId?: string): Promise<number> {
    if (!this.cluster) {
      const reply = (await this.single(SINGLE_END_USER_SESSIONS, [userId, keepSessionId ?? ''])) as (string | number)[];
      const ended: [string, number][] = [];
      for (let i = 0; i < reply.length; i += 2) ended.push([String(reply[i]), Number(reply[i + 1])]);
      await this.ended(ended);
      return ended.length;
    }
    const { client, keys } = this.options;
    const index = keys.userSessions(userId);
    for (let attempt = 0; attempt < END_ALL_ATTEMPTS; attempt += 1) {
      const ids = (await guarded(client.zrange(index, '0', '-1'))).filter((id) => id !== keepSessionId);
      const keyList = [index, ...ids.map((id) => keys.session(userId, id))];
      const reply = (await this.script(END_USER_SESSIONS, keyList, [keepSessionId ?? '', ...ids])) as (string | number)[];
      // A session was created for this user since the index was read: read it again.
      if (reply[0] === 'retry') continue;
      const ended: [string, number][] = [];
      for (let i = 1; i < reply.length; i += 2) ended.push([String(reply[i]), Number(reply[i + 1])]);
      await this.ended(ended);
      return ended.length;
    }
    // Sessions of this user keep appearing faster than they can be ended: not now (503), as for
    // any store that cannot answer, rather than a 500.
    throw unavailable(new Error(`endAllForUser: the sessions of one user kept changing over ${END_ALL_ATTEMPTS} attempts`));
  }

  /**
   * After a script has ended sessions: this instance knows at once. On one Redis the script has
   * also remembered them in the revoked set (and published them) in its own step. On a cluster
   * the set is a key of its own slot, so it is written here, after the script: retried a few
   * times, and if it still fails the request that ended the sessions fails (503) rather than
   * answer as if every instance would know. (An instance that missed the message asks Redis, where
   * the session is gone; the set is what an instance reads back when it subscribes again.)
   */
  private async ended(sessions: [string, number][]): Promise<void> {
    if (sessions.length === 0) return;
    const { client, keys, clock } = this.options;
    for (const [sessionId, until] of sessions) this.options.onEnded(sessionId, until);
    if (!this.cluster) return;
    // One key per command: each session's sessionUser key sits in a slot of its own. It expires
    // with the session, and a stale one only leads to a hash that is gone: no need to insist.
    for (const [sessionId] of sessions) void client.unlink(keys.sessionUser(sessionId)).catch(() => undefined);
    const entries = sessions.flatMap(([sessionId, until]) => [until, sessionId]);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await REMEMBER_REVOKED.run(client, [keys.revoked], [clock.now(), ...entries]);
        return;
      } catch (error) {
        if (attempt >= REVOKED_WRITE_ATTEMPTS) throw unavailable(error);
        await new Promise((resolve) => setTimeout(resolve, REVOKED_WRITE_PAUSE_MS));
      }
    }
  }

  /** The session's hash key: on one Redis its name needs no user id; on a cluster it does. */
  private async hashOf(sessionId: string): Promise<string | null> {
    const { keys } = this.options;
    if (!this.cluster) return keys.session('', sessionId);
    const userId = await this.ownerOf(sessionId);
    return userId === null ? null : keys.session(userId, sessionId);
  }

  private keysOf(userId: string, sessionId: string): string[] {
    const { keys } = this.options;
    return [keys.session(userId, sessionId), keys.userSessions(userId)];
  }

  /** The user of a session on a cluster, or null when Redis knows no such session. */
  private async ownerOf(sessionId: string): Promise<string | null> {
    const known = this.owners.get(sessionId);
    if (known !== undefined) {
      // Used again: moved to the newest end, so that eviction takes the least recently used.
      this.owners.delete(sessionId);
      this.owners.set(sessionId, known);
      return known;
    }
    const { client, keys } = this.options;
    const userId = await guarded(client.get(keys.sessionUser(sessionId)));
    if (userId) this.remember(sessionId, userId);
    return userId || null;
  }

  private remember(sessionId: string, userId: string): void {
    this.owners.delete(sessionId);
    if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(sessionId, userId);
  }

  /** Runs a cluster-layout script: it declares its keys. */
  private script(script: LuaScript, keyList: string[], args: (string | number)[]): Promise<unknown> {
    const { client, keys, clock, accessTtlMs } = this.options;
    return guarded(script.run(client, keyList, [keys.revokedChannel, clock.now(), accessTtlMs, EXPIRY_MARGIN_MS, ...args]));
  }

  /** Runs a single-layout script: it builds its keys from the prefixes (one Redis, not a cluster). */
  private single(script: LuaScript, args: (string | number)[]): Promise<unknown> {
    const { client, keys, clock, accessTtlMs } = this.options;
    const common = [keys.session('', ''), keys.userSessions(''), keys.revoked, clock.now(), accessTtlMs, EXPIRY_MARGIN_MS];
    return guarded(script.run(client, [], [...common, ...args]));
  }
}

function toFields(session: SessionRecord): (string | number)[] {
  return [
    'id', session.id,
    'userId', session.userId,
    'createdAt', session.createdAt,
    'lastUsedAt', session.lastUsedAt,
    'expiresAt', session.expiresAt,
    'userAgent', session.userAgent,
    'ip', session.ip,
    'refreshJti', session.refreshJti,
    'refreshIat', session.refreshIat,
    // A hash has no null: the empty string stands for "no token rotated out yet".
    'previousJti', session.previousJti ?? '',
    'rotatedAt', session.rotatedAt,
    'refreshWindowStart', session.refreshWindowStart,
    'refreshCount', session.refreshCount,
  ];
}

function pairs(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

function fromFields(fields: Record<string, string>): SessionRecord {
  return {
    id: fields.id ?? '',
    userId: fields.userId ?? '',
    createdAt: Number(fields.createdAt),
    lastUsedAt: Number(fields.lastUsedAt),
    expiresAt: Number(fields.expiresAt),
    userAgent: fields.userAgent ?? '',
    ip: fields.ip ?? '',
    refreshJti: fields.refreshJti ?? '',
    refreshIat: Number(fields.refreshIat),
    previousJti: fields.previousJti ? fields.previousJti : null,
    rotatedAt: Number(fields.rotatedAt),
    // Sessions stored before the refresh limit existed have no window yet: an old, empty one.
    refreshWindowStart: Number(fields.refreshWindowStart ?? 0),
    refreshCount: Number(fields.refreshCount ?? 0),
  };
}
