// In-memory session store: sessions, their refresh-token chain, and so the revocation of their tokens.
import type { Clock } from '../../lib/clock';
import { decideRotation } from '../rotation';
import type { RotationOutcome, RotationPolicy, SessionRecord, SessionStore } from '../types';

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly idsByUser = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock) {}

  async create(session: SessionRecord): Promise<void> {
    this.sessions.set(session.id, { ...session });
    let ids = this.idsByUser.get(session.userId);
    if (!ids) {
      ids = new Set();
      this.idsByUser.set(session.userId, ids);
    }
    ids.add(session.id);
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const session = this.live(sessionId);
    return session ? { ...session } : null;
  }

  async isActive(sessionId: string): Promise<boolean> {
    return this.live(sessionId) !== null;
  }

  async rotate(
    sessionId: string,
    presentedJti: string,
    next: { jti: string; iat: number },
    policy: RotationPolicy,
  ): Promise<RotationOutcome> {
    // No await below this line: the read, the decision and the write are one atomic step.
    const session = this.live(sessionId);
    if (!session) return { kind: 'no_session' };
    const now = this.clock.now();
    const decision = decideRotation(session, presentedJti, policy, now);

    switch (decision.kind) {
      case 'idle':
      case 'reused':
        this.remove(session);
        return { kind: decision.kind, session: { ...session } };
      case 'rate_limited':
        return { kind: 'rate_limited', session: { ...session }, retryAfterMs: decision.retryAfterMs };
      case 'rotated':
        session.previousJti = session.refreshJti;
        session.refreshJti = next.jti;
        session.refreshIat = next.iat;
        session.rotatedAt = now;
        break;
      case 'grace':
        break;
    }
    session.lastUsedAt = now;
    session.refreshWindowStart = decision.windowStart;
    session.refreshCount = decision.count;
    return { kind: decision.kind, session: { ...session } };
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const ids = this.idsByUser.get(userId);
    if (!ids) return [];
    const sessions: SessionRecord[] = [];
    for (const id of ids) {
      const session = this.live(id);
      if (session) sessions.push({ ...session });
    }
    return sessions.sort((a, b) => a.createdAt - b.createdAt);
  }

  async end(sessionId: string): Promise<boolean> {
    const session = this.live(sessionId);
    if (!session) return false;
    this.remove(session);
    return true;
  }

  async endAllForUser(userId: string, keepSessionId?: string): Promise<number> {
    const ids = this.idsByUser.get(userId);
    if (!ids) return 0;
    let ended = 0;
    for (const id of [...ids]) {
      if (id === keepSessionId) continue;
      const session = this.live(id);
      if (session) {
        this.remove(session);
        ended += 1;
      }
    }
    return ended;
  }

  /** Drops every expired session. */
  sweep(): void {
    const now = this.clock.now();
    for (const session of this.sessions.values()) {
      if (session.expiresAt <= now) this.remove(session);
    }
  }

  /** Number of sessions held, expired ones not yet swept included. */
  get size(): number {
    return this.sessions.size;
  }

  /** Whether the session is held, expired or not: unlike get(), it never drops it (for tests of sweeping). */
  holds(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  private live(sessionId: string): SessionRecord | null {
    const session = this.sessions.get(sessionId);
    if (!session) return null;
    if (session.expiresAt <= this.clock.now()) {
      this.remove(session);
      return null;
    }
    return session;
  }

  private remove(session: SessionRecord): void {
    this.sessions.delete(session.id);
    const ids = this.idsByUser.get(session.userId);
    ids?.delete(session.id);
    if (ids && ids.size === 0) this.idsByUser.delete(session.userId);
  }
}
