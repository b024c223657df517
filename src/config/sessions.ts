// The session section: how often one session may refresh, and how long it may sit idle.
import { duration, integer, optionalDuration, type Parsed } from './fields';

export interface SessionConfig {
  readonly sessions: {
    /** Refreshes one session may make per window: /refresh is limited per session, never per address. */
    readonly refreshLimit: { readonly max: number; readonly windowMs: number };
    /** A session not refreshed for this long ends (RFC 9700 inactivity expiry); null: never. */
    readonly idleTimeoutMs: number | null;
  };
}

export const sessionVariables = {
  REFRESH_RATE_LIMIT_MAX: integer(60, 1, 1_000_000),
  REFRESH_RATE_LIMIT_WINDOW: duration('15m'),
  SESSION_IDLE_TIMEOUT: optionalDuration(),
};

type SessionEnvironment = Parsed<typeof sessionVariables> & { ACCESS_TOKEN_TTL: number };

/**
 * An idle timeout no longer than an access token would end every session between two refreshes,
 * and one no longer than the refresh window would end a session waiting out its 429.
 */
export function sessionChecks(env: Partial<SessionEnvironment>, problems: string[]): void {
  const { SESSION_IDLE_TIMEOUT: idle, ACCESS_TOKEN_TTL: accessTtl, REFRESH_RATE_LIMIT_WINDOW: window } = env;
  if (idle !== undefined && accessTtl !== undefined && idle <= accessTtl) {
    problems.push('SESSION_IDLE_TIMEOUT: must be longer than ACCESS_TOKEN_TTL (clients refresh once per access token)');
  }
  if (idle !== undefined && window !== undefined && idle <= window) {
    problems.push('SESSION_IDLE_TIMEOUT: must be longer than REFRESH_RATE_LIMIT_WINDOW (a session waiting out its limit is not idle)');
  }
}

export function sessionSettings(e: Parsed<typeof sessionVariables>): SessionConfig {
  return {
    sessions: {
      refreshLimit: { max: e.REFRESH_RATE_LIMIT_MAX, windowMs: e.REFRESH_RATE_LIMIT_WINDOW },
      idleTimeoutMs: e.SESSION_IDLE_TIMEOUT ?? null,
    },
  };
}
