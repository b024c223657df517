// Redis session store: one hash per session, a per-user index in the user's slot, and the ended sessions' revocation set.
import type { Clock } from '../../lib/clock';
import { NO_REFRESH_LIMIT } from '../rotation';
import type { RotationOutcome, RotationPolicy, SessionRecord, SessionStore } from '../types';
import { EXPIRY_MARGIN_MS, guarded, type LuaScript, type RedisClient } from './connection';
import type { RedisKeys } from './keys';
import { CREATE_SESSION, END_SESSION, END_USER_SESSIONS, REMEMBER_REVOKED, ROTATE_SESSION } from './session-scripts';

/** Session id → user id, remembered by an instance (the pair never changes); the oldest go first beyond this. */
const OWNER_CACHE_SIZE = 20_000;
/** Attempts of endAllForUser when sessions keep being created under it (each attempt re-reads the index). */
const END_ALL_ATTEMPTS = 10;

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
 * A script that ends sessions declares their hashes and their user's index, so it must know the
 * user: a token names only its session. The user id is read once per session and instance (from
 * the session hash on one Redis, from the sessionUser key on a cluster, where the hash's name
 * depends on it) and kept: it never changes.
 */
export class RedisSessionStore implements SessionStore {
  private readonly owners = new Map<string, string>();

  constructor(private readonly options: RedisSessionStoreOptions) {}

  private get cluster(): boolean {
    return this.options.keys.layout === 'cluster';
  }

  async create(session: SessionRecord): Promise<void> {
    const { client, keys, clock } = this.options;
    if (this.cluster) {
      // Written first: a session is never stored without the key that finds it (a failure in
      // between leaves only this key, which expires).
      const ttl = session.expiresAt - clock.now() + EXPIRY_MARGIN_MS;
      await guarded(client.set(keys.sessionUser(session.id), session.userId, 'PX', Math.max(ttl, 1)));
    }
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
    const userId = await this.ownerOf(sessionId);
    if (userId === null) return { kind: 'no_session' };
    const limit = policy.refreshLimit ?? NO_REFRESH_LIMIT;
    const args = [sessionId, presentedJti, next.jti, next.iat, policy.graceMs, limit.max, limit.windowMs, policy.idleTimeoutMs ?? 0];
    const reply = (await this.script(ROTATE_SESSION, this.keysOf(userId, sessionId), args)) as [RotationOutcome['kind'], string[]?, number?];
    const [kind, flat, extra] = reply;
    if (kind === 'no_session' || !flat) return { kind: 'no_session' };
    const session = fromFields(pairs(flat));
    if (kind === 'rate_limited') return { kind, session, retryAfterMs: Number(extra) };
    if (kind === 'reused' || kind === 'idle') await this.ended([[sessionId, Number(extra)]]);
    return { kind, session };
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const { client, keys, clock } = this.options;
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
    const userId = await this.ownerOf(sessionId);
    if (userId === null) return false;
    const revokedUntil = Number(await this.script(END_SESSION, this.keysOf(userId, sessionId), [sessionId]));
    if (revokedUntil === 0) return false;
    await this.ended([[sessionId, revokedUntil]]);
    return true;
  }

  async endAllForUser(userId: string, keepSessionId?: string): Promise<number> {
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
    throw new Error(`endAllForUser: the sessions of one user kept changing over ${END_ALL_ATTEMPTS} attempts`);
  }

  /**
   * After a script has ended sessions (and published them, in the same step): this instance knows
   * at once, and the revoked set remembers them for instances that subscribe later. The set is a
   * key of its own (a slot of its own on a cluster), so it is written here, after the script. It
   * is not what keeps a revoked token out: an instance that missed the message was not subscribed
   * then, so it has forgotten every session it had seen live and asks Redis, where the session is
   * gone (see revocation-feed.ts). A failure here is therefore not the caller's failure.
   */
  private async ended(sessions: [string, number][]): Promise<void> {
    if (sessions.length === 0) return;
    const { client, keys, clock } = this.options;
    for (const [sessionId, until] of sessions) this.options.onEnded(sessionId, until);
    const writes: Promise<unknown>[] = [REMEMBER_REVOKED.run(client, [keys.revoked], [clock.now(), ...sessions.flatMap(([sessionId, until]) => [until, sessionId])])];
    // One key per command: each session's sessionUser key sits in a slot of its own.
    if (this.cluster) writes.push(...sessions.map(([sessionId]) => client.unlink(keys.sessionUser(sessionId))));
    await Promise.all(writes.map((write) => write.catch(() => undefined)));
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

  /** The user of a session, or null when Redis knows no such session. */
  private async ownerOf(sessionId: string): Promise<string | null> {
    const known = this.owners.get(sessionId);
    if (known !== undefined) return known;
    const { client, keys } = this.options;
    const userId = this.cluster
      ? await guarded(client.get(keys.sessionUser(sessionId)))
      : await guarded(client.hget(keys.session('', sessionId), 'userId'));
    if (userId) this.remember(sessionId, userId);
    return userId || null;
  }

  private remember(sessionId: string, userId: string): void {
    if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(sessionId, userId);
  }

  private script(script: LuaScript, keyList: string[], args: (string | number)[]): Promise<unknown> {
    const { client, keys, clock, accessTtlMs } = this.options;
    return guarded(script.run(client, keyList, [keys.revokedChannel, clock.now(), accessTtlMs, EXPIRY_MARGIN_MS, ...args]));
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
