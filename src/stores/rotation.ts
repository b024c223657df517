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
 * session even when its limit is used up, and only a refresh that would be answered is counted.
 */
export function decideRotation(session: SessionRecord, presentedJti: string, policy: RotationPolicy, now: number): RotationDecision {
  if (policy.idleTimeoutMs !== undefined && now - session.lastUsedAt >= policy.idleTimeoutMs) return { kind: 'idle' };

  let kind: 'rotated' | 'grace';
  if (presentedJti === session.refreshJti) kind = 'rotated';
  // Two tabs refreshing at once both present the same token: the loser gets the winner's
  // successor instead of being treated as a thief, but only briefly and only for that token.
  else if (presentedJti === session.previousJti && now - session.rotatedAt < policy.graceMs) kind = 'grace';
  else return { kind: 'reused' };

  const limit = policy.refreshLimit ?? NO_REFRESH_LIMIT;
  if (now - session.refreshWindowStart >= limit.windowMs) return { kind, windowStart: now, count: 1 };
  if (session.refreshCount >= limit.max) {
    return { kind: 'rate_limited', retryAfterMs: session.refreshWindowStart + limit.windowMs - now };
  }
  return { kind, windowStart: session.refreshWindowStart, count: session.refreshCount + 1 };
}
