// The RateLimit and RateLimit-Policy headers (IETF draft 8), in the form express-rate-limit sends for the other limits.

/** Where a client stands against one limit. */
export interface RateLimitState {
  /** The policy's name, quoted in both headers. */
  policy: string;
  max: number;
  windowMs: number;
  remaining: number;
  /** Until the window resets. */
  resetMs: number;
}

/**
 * Written by hand because express-rate-limit sets these only from its own middleware, and the
 * per-session refresh limit is counted inside the rotation itself (one store call, not two).
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    RateLimit: `"${state.policy}"; r=${state.remaining}; t=${Math.ceil(state.resetMs / 1000)}`,
    'RateLimit-Policy': `"${state.policy}"; q=${state.max}; w=${Math.ceil(state.windowMs / 1000)}`,
  };
}
