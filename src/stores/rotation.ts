// The one rule of refresh-token rotation every session store follows: idle sessions, replays, the grace window, the per-session limit.
import type { RotationPolicy, SessionRecord } from './types';

/**
 * No limit, said as a limit: every refresh opens a new window of one, which one allows. The SQL
 * statement and the Lua script take a limit as plain arguments, so they are handed this.
 */
export const NO_REFRESH_LIMIT = Object.freeze({ max: 1, windowMs: 0 });

/** What a presentation does; 'rotated' and 'grace' carry the session's refresh window after it. */
export type RotationDecision =
  | { kind: 'idle' }
  | { kind: 'reused' }
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'rotated' | 'grace'; windowStart: number; count: number };

/**
 * What presenting `presentedJti` at `now` does to the live `session`. The SQL store's one-statement
 * fast path and the Redis script say the same in their own languages; the store contract holds
 * all three to it. Order matters: an idle session ends whatever is presented, a replay ends the
 * session even when its limit is used up, and only a rotation is counted.
 */
export function decideRotation(session: SessionRecord, presentedJti: string, policy: RotationPolicy, now: number): RotationDecision {
  if (isIdle(session, policy, now)) return { kind: 'idle' };

  // Two tabs refreshing at once both present the same token: the loser gets the winner's
  // successor instead of being treated as a thief, but only briefly and only for that token. It is
  // neither counted nor refused: it mints no refresh token, and a 429 would send that tab back
  // after Retry-After with a token whose grace is long over, to end the session as a replay.
  if (presentedJti === session.previousJti && now - session.rotatedAt < policy.graceMs) {
    return { kind: 'grace', windowStart: session.refreshWindowStart, count: session.refreshCount };
  }
  if (presentedJti !== session.refreshJti) return { kind: 'reused' };

  const limit = policy.refreshLimit ?? NO_REFRESH_LIMIT;
  if (now - session.refreshWindowStart >= limit.windowMs) return { kind: 'rotated', windowStart: now, count: 1 };
  if (session.refreshCount >= limit.max) {
    return { kind: 'rate_limited', retryAfterMs: session.refreshWindowStart + limit.windowMs - now };
  }
  return { kind: 'rotated', windowStart: session.refreshWindowStart, count: session.refreshCount + 1 };
}

/** Whether the session has gone unused for the policy's idle timeout (none: never). */
export function isIdle(session: SessionRecord, policy: RotationPolicy, now: number): boolean {
  return policy.idleTimeoutMs !== undefined && now - session.lastUsedAt >= policy.idleTimeoutMs;
}
