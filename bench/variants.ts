// The servers compared: this one (memory and Redis stores) and what users would otherwise pick, each its own process.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/processes';

/** Test-only secrets: strong enough for NODE_ENV=production, public in this file. */
export const BENCH_SECRETS = {
  JWT_SECRET: 'bench-Kp3vQ9zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'bench-Wq8nE2rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  // Production refuses to start with Redis or a database and no key for the TOTP secrets stored there.
  MFA_ENCRYPTION_KEY: '3f9a1c7e5b2d84f06a1e9c3b7d5f2a8e4c6b0d9f1a3e5c7b9d2f4a6c8e0b1d3f',
};
/** GET /metrics's Bearer token on the metrics-on variant: strong enough for production, public in this file. */
export const BENCH_METRICS_TOKEN = 'bench-Hx4tN7qZ2vR9kM5wB8yD3jL6fS1gP0cE-metrics';
export const ISSUER = 'auth-server';
export const AUDIENCE = 'api';
/** The work factor the issue's targets are stated for. */
export const BENCH_BCRYPT_COST = 10;

export type VariantKey = 'raw' | 'express' | 'tutorial' | 'passport' | 'expressJwt' | 'memory' | 'memoryMetrics' | 'redis';

/**
 * This server's variants: each gets a user of its own (registered and logged in on it), the
 * others are shown the memory one's token. The memory store with and without metrics are the
 * pair of issue 23, measured back to back in every round (bench/scenarios/throughput.ts).
 */
export const THIS_SERVER: readonly VariantKey[] = ['memory', 'memoryMetrics', 'redis'];
export const OBSERVABILITY_PAIR = { off: 'memory', on: 'memoryMetrics' } as const;

export interface Variant {
  key: VariantKey;
  label: string;
  /** What it does on GET /profile, for the report. */
  what: string;
  command: string[];
  /** Set by the driver: the comparison servers need the user of the token they will be shown. */
  env(context: { benchUser: string; redisUrl?: string; redisPrefix?: string }): Record<string, string>;
  readyPath: string;
}

/** Every configuration variable blanked (dotenv never overrides a set one), and no .env file read. */
function isolatedConfig(): Record<string, string> {
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
  return { ...Object.fromEntries(names.map((name) => [name, ''])), DOTENV_CONFIG_PATH: path.join(ROOT, 'bench', 'no-such.env') };
}

/** This server as production runs it: built code, production mode, request log at info; `extra` picks its stores. */
export function thisServerEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ...isolatedConfig(),
    NODE_ENV: 'production',
    ...BENCH_SECRETS,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    BCRYPT_COST: String(BENCH_BCRYPT_COST),
    // Every request of the bench comes from 127.0.0.1: the per-address ceiling would stop it, so it is
    // raised out of the way; it is still counted on every /login and /register.
    RATE_LIMIT_MAX: '1000000',
    // Each connection refreshes one session thousands of times: the per-session limit is raised
    // out of the way the same way, and still counted inside every rotation.
    REFRESH_RATE_LIMIT_MAX: '1000000',
    // Failed logins are counted when a login starts and forgiven when it succeeds: a burst of
    // correct logins of one account in flight at once would reach the default 5 and get 429.
    LOGIN_RATE_LIMIT_MAX: '1000000',
    // Long enough for the whole run, so that one token serves every round.
    ACCESS_TOKEN_TTL: '1h',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

const node = process.execPath;
const benchServer = (file: string) => [node, '--import', 'tsx', path.join('bench', 'servers', file)];

function comparisonEnv(context: { benchUser: string }): Record<string, string> {
  return { JWT_SECRET: BENCH_SECRETS.JWT_SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, BENCH_USER: context.benchUser };
}

export const VARIANTS: readonly Variant[] = [
  {
    key: 'raw',
    label: 'node:http (the floor)',
    what: 'the same JSON, no routing, no token check',
    command: benchServer('raw-http.ts'),
    env: comparisonEnv,
    readyPath: '/profile',
  },
  {
    key: 'express',
    label: 'bare Express route',
    what: 'one Express 5 route, no middleware, no token check',
    command: benchServer('bare-express.ts'),
    env: comparisonEnv,
    readyPath: '/profile',
  },
  {
    key: 'tutorial',
    label: 'tutorial middleware',
    what: 'jsonwebtoken verify with the secret as a string, no revocation',
    command: benchServer('tutorial-jwt.ts'),
    env: comparisonEnv,
    readyPath: '/profile',
  },
  {
    key: 'passport',
    label: 'passport-jwt',
    what: 'as its README sets it up, no revocation',
    command: benchServer('passport-jwt.ts'),
    env: comparisonEnv,
    readyPath: '/profile',
  },
  {
    key: 'expressJwt',
    label: 'express-jwt',
    what: 'as its README sets it up, no revocation',
    command: benchServer('express-jwt.ts'),
    env: comparisonEnv,
    readyPath: '/profile',
  },
  {
    key: 'memory',
    label: 'this server, memory store',
    what: 'full pipeline: request log, security headers, CORS, token check, revocation check, user lookup',
    command: [node, 'dist/server.js'],
    env: () => thisServerEnv({}),
    readyPath: '/ready',
  },
  {
    // Audit events are recorded on every server (there is no switch): GET /profile records none,
    // so the difference between this row and the one above is the request metrics.
    key: 'memoryMetrics',
    label: 'this server, metrics on (memory store)',
    what: 'the same with METRICS_TOKEN set: GET /metrics on, every request timed into the Prometheus histogram',
    command: [node, 'dist/server.js'],
    env: () => thisServerEnv({ METRICS_TOKEN: BENCH_METRICS_TOKEN }),
    readyPath: '/ready',
  },
  {
    key: 'redis',
    label: 'this server, Redis store',
    what: 'the same, users and sessions in Redis; revocations, and users read before, from local copies',
    command: [node, 'dist/server.js'],
    env: (context) => thisServerEnv({ REDIS_URL: context.redisUrl ?? '', REDIS_KEY_PREFIX: context.redisPrefix ?? '' }),
    readyPath: '/ready',
  },
];

export function variant(key: VariantKey): Variant {
  return VARIANTS.find((entry) => entry.key === key)!;
}
