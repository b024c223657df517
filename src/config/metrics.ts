// The metrics section: METRICS_TOKEN, the Bearer token GET /metrics asks for, and when the route answers at all.
import { z } from 'zod';
import type { Parsed } from './fields';
import { secretWeakness } from './secrets';

export interface MetricsConfig {
  readonly metrics: {
    /** Whether GET /metrics exists: with a token, or without one outside production (production then answers 404). */
    readonly enabled: boolean;
    /** The Bearer token a scrape must send; null: the route is open (outside production only). */
    readonly token: string | null;
  };
}

/** RFC 6750's b64token: anything else could never arrive in an `Authorization: Bearer` header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function metricsToken() {
  return z
    .string()
    .optional()
    .refine((text) => text === undefined || B64TOKEN.test(text), {
      // Never echo the value: it is the credential.
      error: 'must be a Bearer token: letters, digits and - . _ ~ + / only, such as the output of `openssl rand -hex 32`',
    });
}

export const metricsVariables = {
  METRICS_TOKEN: metricsToken(),
};

type MetricsEnvironment = Parsed<typeof metricsVariables> & { JWT_SECRET?: string | undefined; JWT_REFRESH_SECRET?: string | undefined };

/**
 * What is refused: in production a token anyone could guess (the scrape answers hold no secret,
 * but the route costs the server work and tells an attacker its load); anywhere, a token equal to
 * a signing secret, which would put that key in every Prometheus configuration.
 */
export function metricsChecks(env: Partial<MetricsEnvironment>, production: boolean, problems: string[]): void {
  const token = env.METRICS_TOKEN;
  if (token === undefined) return;
  const weakness = secretWeakness(token);
  if (weakness && production) problems.push(`METRICS_TOKEN: ${weakness}`);
  if (token === env.JWT_SECRET || token === env.JWT_REFRESH_SECRET) {
    problems.push('METRICS_TOKEN: must differ from JWT_SECRET and JWT_REFRESH_SECRET');
  }
}

export function metricsSettings(e: MetricsEnvironment & { NODE_ENV: string }, warnings: string[]): MetricsConfig {
  const token = e.METRICS_TOKEN ?? null;
  if (token !== null) {
    const weakness = secretWeakness(token);
    if (weakness) warnings.push(`METRICS_TOKEN ${weakness}: it would be refused in production`);
  }
  return { metrics: { enabled: token !== null || e.NODE_ENV !== 'production', token } };
}
