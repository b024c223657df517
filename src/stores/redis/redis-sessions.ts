// Redis session store: one hash per session, a per-user index, and the ended sessions' revocation set.
import type { Redis } from 'ioredis';
import type { Clock } from '../../lib/clock';
import { NO_REFRESH_LIMIT } from '../rotation';
import type { RotationOutcome, RotationPolicy, SessionRecord, SessionStore } from '../types';
import { EXPIRY_MARGIN_MS, guarded, type LuaScript } from './connection';
import type { RedisKeys } from './keys';
import { CREATE_SESSION, END_SESSION, END_USER_SESSIONS, LIST_USER_SESSIONS, ROTATE_SESSION } from './session-scripts';

export interface RedisSessionStoreOptions {
  client: Redis;
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
 */
export class RedisSessionStore implements SessionStore {
  constructor(private readonly options: RedisSessionStoreOptions) {}

  async create(session: SessionRecord): Promise<void> {
    await this.script(CREATE_SESSION, [session.id, session.expiresAt, session.userId, ...toFields(session)]);
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const { client, keys, clock } = this.options;
    const fields = await guarded(client.hgetall(keys.session(sessionId)));
    const session = Object.keys(fields).length === 0 ? null : fromFields(fields);
    return session && session.expiresAt > clock.now() ? session : null;
  }

  async isActive(sessionId: string): Promise<boolean> {
    const { client, keys, clock } = this.options;
    const expiresAt = await guarded(client.hget(keys.session(sessionId), 'expiresAt'));
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
    const reply = (await this.script(ROTATE_SESSION, args)) as [RotationOutcome['kind'], string[]?, number?];
    const [kind, flat, extra] = reply;
    if (kind === 'no_session' || !flat) return { kind: 'no_session' };
    const session = fromFields(pairs(flat));
    if (kind === 'rate_limited') return { kind, session, retryAfterMs: Number(extra) };
    if (kind === 'reused' || kind === 'idle') this.options.onEnded(sessionId, Number(extra));
    return { kind, session };
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const records = (await this.script(LIST_USER_SESSIONS, [userId])) as string[][];
    return records.map((flat) => fromFields(pairs(flat))).sort((a, b) => a.createdAt - b.createdAt);
  }

  async end(sessionId: string): Promise<boolean> {
    const revokedUntil = Number(await this.script(END_SESSION, [sessionId]));
    if (revokedUntil === 0) return false;
    this.options.onEnded(sessionId, revokedUntil);
    return true;
  }

  async endAllForUser(userId: string, keepSessionId?: string): Promise<number> {
    const ended = (await this.script(END_USER_SESSIONS, [userId, keepSessionId ?? ''])) as (string | number)[];
    for (let i = 0; i < ended.length; i += 2) this.options.onEnded(String(ended[i]), Number(ended[i + 1]));
    return ended.length / 2;
  }

  private script(script: LuaScript, args: (string | number)[]): Promise<unknown> {
    const { client, keys, clock, accessTtlMs } = this.options;
    const common = [keys.sessionPrefix, keys.userSessionsPrefix, keys.revoked, clock.now(), accessTtlMs, EXPIRY_MARGIN_MS];
    // The scripts derive session and index keys from the prefixes: one Redis primary, not Cluster.
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
