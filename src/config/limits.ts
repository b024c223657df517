// The rate-limit section: failed logins per (account, client address), and requests per client address on the sign-in routes.
import { duration, integer, type Parsed } from './fields';

export interface RateLimitConfig {
  max: number;
  windowMs: number;
}

export interface LimitConfig {
  readonly rateLimits: {
    /** Failed logins per (account, client address). */
    readonly login: RateLimitConfig;
    /** Requests per client address on the sign-in routes together (/refresh is limited per session, see sessions.ts). */
    readonly perAddress: RateLimitConfig;
  };
}

export const limitVariables = {
  LOGIN_RATE_LIMIT_MAX: integer(5, 1, 1_000_000),
  LOGIN_RATE_LIMIT_WINDOW: duration('15m'),
  RATE_LIMIT_MAX: integer(100, 1, 1_000_000),
  RATE_LIMIT_WINDOW: duration('15m'),
};

export function limitSettings(e: Parsed<typeof limitVariables>): LimitConfig {
  return {
    rateLimits: {
      login: { max: e.LOGIN_RATE_LIMIT_MAX, windowMs: e.LOGIN_RATE_LIMIT_WINDOW },
      perAddress: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW },
    },
  };
}
