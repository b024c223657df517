// Turns the environment into one frozen, typed Config, or one error that lists every problem.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from './lib/duration';

export type Role = 'user' | 'admin';
export type TrustProxy = boolean | number | string[];

export interface RateLimitConfig {
  max: number;
  windowMs: number;
}

/** Everything the server needs to know, parsed and checked once at start-up. */
export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly jwt: {
    readonly accessSecret: string;
    readonly refreshSecret: string;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTtlSec: number;
    readonly refreshTtlSec: number;
    readonly reuseGraceMs: number;
  };
  readonly bcryptCost: number;
  readonly usersFile: string | null;
  readonly allowRegistration: boolean;
  readonly rateLimits: {
    /** Failed logins per (account, client address). */
    readonly login: RateLimitConfig;
    /** Requests per client address on /login, /register and /refresh together. */
    readonly perAddress: RateLimitConfig;
  };
  readonly corsOrigins: readonly string[];
  readonly trustProxy: TrustProxy;
  readonly logLevel: string;
}

/** The placeholders written in .env.example: refused in production like any weak secret. */
export const SECRET_PLACEHOLDERS = {
  JWT_SECRET: 'replace-with-a-random-string-of-at-least-32-bytes-access',
  JWT_REFRESH_SECRET: 'replace-with-a-random-string-of-at-least-32-bytes-refresh',
} as const;

/** Secrets from tutorials, docs and boilerplates: anyone could sign tokens with them. */
const WELL_KNOWN_SECRETS = new Set([
  'secret',
  'changeme',
  'change-me',
  'password',
  'jwt_secret',
  'jwtsecret',
  'your-secret-key',
  'your_jwt_secret',
  'your-256-bit-secret',
  'a-string-secret-at-least-256-bits-long',
  'your-super-secret-jwt-token-with-at-least-32-characters-long',
  'super-secret-jwt-token-with-at-least-32-characters-long',
  'this-is-a-very-long-secret-key-for-jwt-tokens',
  'my-super-secret-key-that-is-at-least-32-characters',
  'keyboard cat',
  'shhhhh',
  ...Object.values(SECRET_PLACEHOLDERS),
]);

const MIN_SECRET_BYTES = 32;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Raised when the environment is unusable; the message names each variable, never a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Why a secret would let someone forge tokens, or null when it looks strong. */
export function secretWeakness(secret: string): string | null {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    return `must be at least ${MIN_SECRET_BYTES} bytes`;
  }
  if (WELL_KNOWN_SECRETS.has(secret.toLowerCase())) return 'is a well-known or placeholder value';
  if (new Set(secret).size < 10) return 'has too little variety to be random';
  return null;
}

function optionalText() {
  return z.string().optional();
}

function duration(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 900, 15m or 7d' });
        return z.NEVER;
      }
      return ms;
    });
}

function integer(fallback: number, min: number, max: number) {
  return z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return value;
    });
}

function flag(fallback: boolean) {
  return z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = text.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(value)) return true;
      if (['false', '0', 'no'].includes(value)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    });
}

function originList() {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      const origins = text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      for (const origin of origins) {
        let parsed: URL | null = null;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = null;
        }
        // Credentials are allowed per origin, so every entry must be an exact origin, never "*".
        if (!parsed || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a comma-separated list of origins such as https://app.example.com',
          });
          return z.NEVER;
        }
      }
      return origins;
    });
}

function trustProxy() {
  return z
    .string()
    .default('false')
    .transform((text): TrustProxy => {
      const value = text.trim();
      if (value === 'false' || value === '') return false;
      if (value === 'true') return true;
      if (/^\d+$/.test(value)) return Number(value);
      return value.split(',').map((item) => item.trim());
    });
}

const environmentSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'must be development, production or test',
    })
    .default('development'),
  PORT: integer(3000, 0, 65535),
  HOST: z.string().default('127.0.0.1'),
  JWT_SECRET: optionalText(),
  JWT_REFRESH_SECRET: optionalText(),
  JWT_ISSUER: z.string().default('auth-server'),
  JWT_AUDIENCE: z.string().default('api'),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('7d'),
  REFRESH_REUSE_GRACE: duration('10s'),
  BCRYPT_COST: integer(12, 10, 15),
  USERS_FILE: optionalText(),
  ALLOW_REGISTRATION: flag(true),
  LOGIN_RATE_LIMIT_MAX: integer(5, 1, 1_000_000),
  LOGIN_RATE_LIMIT_WINDOW: duration('15m'),
  RATE_LIMIT_MAX: integer(100, 1, 1_000_000),
  RATE_LIMIT_WINDOW: duration('15m'),
  REDIS_URL: optionalText(),
  CORS_ORIGINS: originList(),
  TRUST_PROXY: trustProxy(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

type Environment = z.infer<typeof environmentSchema>;

/**
 * Cross-variable rules the per-variable schema cannot see. A variable that failed its own check
 * is missing from `env`; the rules that need it are skipped (its own problem is already listed).
 */
function crossChecks(env: Partial<Environment>, problems: string[]): void {
  const production = env.NODE_ENV === 'production';
  for (const name of ['JWT_SECRET', 'JWT_REFRESH_SECRET'] as const) {
    const secret = env[name];
    if (secret === undefined) {
      if (production) problems.push(`${name}: is required in production`);
      continue;
    }
    const weakness = secretWeakness(secret);
    if (weakness && production) problems.push(`${name}: ${weakness}`);
  }
  if (env.JWT_SECRET !== undefined && env.JWT_SECRET === env.JWT_REFRESH_SECRET) {
    problems.push('JWT_REFRESH_SECRET: must differ from JWT_SECRET');
  }
  const { ACCESS_TOKEN_TTL: accessTtl, REFRESH_TOKEN_TTL: refreshTtl, REFRESH_REUSE_GRACE: grace } = env;
  if (accessTtl !== undefined && accessTtl < 1000) problems.push('ACCESS_TOKEN_TTL: must be at least 1s');
  if (accessTtl !== undefined && refreshTtl !== undefined && refreshTtl <= accessTtl) {
    problems.push('REFRESH_TOKEN_TTL: must be longer than ACCESS_TOKEN_TTL');
  }
  if (grace !== undefined && grace > 60_000) {
    problems.push('REFRESH_REUSE_GRACE: must be at most 60s (a longer window helps token thieves)');
  }
  if (env.REDIS_URL !== undefined) {
    problems.push('REDIS_URL: Redis-backed stores are not available in this version yet; unset it');
  }
  if (production && env.TRUST_PROXY === true) {
    problems.push('TRUST_PROXY: "true" trusts any X-Forwarded-For in production; give a hop count or addresses');
  }
}

function generatedSecret(): string {
  return randomBytes(48).toString('base64url');
}

export interface LoadedConfig {
  config: Config;
  /** Things an operator should hear about at start-up (never containing a secret). */
  warnings: string[];
}

/**
 * Parses the environment. Throws ConfigError listing every problem at once.
 * Outside production a missing secret is replaced by a random one, with a warning.
 */
export function loadConfig(rawEnv: Record<string, string | undefined>): LoadedConfig {
  // An empty value (KEY= in a .env file) means "not set".
  const env = Object.fromEntries(
    Object.entries(rawEnv).filter(([, value]) => value !== undefined && value !== ''),
  );
  // Each variable is parsed on its own, so that one bad value does not hide the other problems.
  const parsed: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(environmentSchema.shape)) {
    const result = schema.safeParse(env[name]);
    if (result.success) parsed[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => `${name}: ${issue.message}`));
  }
  crossChecks(parsed as Partial<Environment>, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const e = parsed as Environment;
  const warnings: string[] = [];
  const secret = (name: 'JWT_SECRET' | 'JWT_REFRESH_SECRET'): string => {
    const value = e[name];
    if (value === undefined) {
      warnings.push(`${name} is not set: using a random one, so tokens will not survive a restart`);
      return generatedSecret();
    }
    const weakness = secretWeakness(value);
    if (weakness) warnings.push(`${name} ${weakness}: it would be refused in production`);
    return value;
  };

  const config: Config = {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    jwt: {
      accessSecret: secret('JWT_SECRET'),
      refreshSecret: secret('JWT_REFRESH_SECRET'),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSec: Math.floor(e.ACCESS_TOKEN_TTL / 1000),
      refreshTtlSec: Math.floor(e.REFRESH_TOKEN_TTL / 1000),
      reuseGraceMs: e.REFRESH_REUSE_GRACE,
    },
    bcryptCost: e.BCRYPT_COST,
    usersFile: e.USERS_FILE ?? null,
    allowRegistration: e.ALLOW_REGISTRATION,
    rateLimits: {
      login: { max: e.LOGIN_RATE_LIMIT_MAX, windowMs: e.LOGIN_RATE_LIMIT_WINDOW },
      perAddress: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW },
    },
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
  };
  return { config: deepFreeze(config), warnings };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
