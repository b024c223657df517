// Turns the environment into one frozen, typed Config, or one error that lists every problem.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { defaultHashConcurrency, type HashLimits } from './auth/hash-gate';
import { DEFAULT_HASHING_NICE } from './auth/hashing-threads';
import { KEY_ID_PATTERN, derivedKeyId, ecVerificationKey, privateKeyPem, publicKeyPem } from './auth/keys';
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
    /** `kid` of accessSecret (JWT_SECRET_ID); null: derived from the secret. */
    readonly accessKeyId: string | null;
    /** HS256 keys that verify access tokens but never sign them (a rotation in progress). */
    readonly verifySecrets: readonly { readonly kid: string; readonly secret: string }[];
    /** What signs access tokens; ES256 uses privateKey, and accessSecret then only verifies. */
    readonly algorithm: 'HS256' | 'ES256';
    /** P-256 private key (PKCS#8 PEM) when algorithm is ES256. */
    readonly privateKey: string | null;
    /** P-256 public keys (SPKI PEM) that verify access tokens and are published in the JWKS. */
    readonly verifyPublicKeys: readonly string[];
  };
  /** Callers of POST /introspect (HTTP Basic). */
  readonly introspectionClients: readonly { readonly id: string; readonly secret: string }[];
  readonly bcryptCost: number;
  /**
   * bcrypt jobs at once, and how many may wait (more logins and registrations get 503); and the
   * nice value of the hashing threads (Linux; 0 keeps the process's priority).
   */
  readonly passwordHashing: HashLimits & { readonly nice: number };
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
  /** Shared stores for several instances; null keeps every store in this process's memory. */
  readonly redis: { readonly url: string; readonly keyPrefix: string } | null;
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
  if (new Set(secret).size < 12 || isRepetitive(secret)) return 'has too little variety to be random';
  return null;
}

/** True when the text is mostly one character, or one short pattern repeated ("abcabc…", "0123456789012…"). */
function isRepetitive(text: string): boolean {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  if (Math.max(...counts.values()) > text.length / 4) return true;
  for (let period = 1; period <= text.length / 2; period += 1) {
    let same = 0;
    for (let i = period; i < text.length; i += 1) if (text[i] === text[i - period]) same += 1;
    if (same >= 0.8 * (text.length - period)) return true;
  }
  return false;
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

function redisUrl() {
  return z
    .string()
    .optional()
    .refine(
      (text) => {
        if (text === undefined) return true;
        try {
          const url = new URL(text);
          return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
        } catch {
          return false;
        }
      },
      // Never echo the value: a Redis URL usually carries a password.
      { message: 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379' },
    );
}

/** Names Express's proxy-addr understands, besides addresses and CIDR ranges. */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(item: string): boolean {
  if (PROXY_NAMES.has(item)) return true;
  const [address, prefix, ...rest] = item.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

/** "name:secret,name:secret", each name a `kid` or client id; an entry is named by position, never shown. */
function namedSecrets(what: string) {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      const entries = text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      const named: { name: string; secret: string }[] = [];
      for (const [index, entry] of entries.entries()) {
        const colon = entry.indexOf(':');
        const name = entry.slice(0, Math.max(colon, 0));
        if (colon < 0 || colon === entry.length - 1 || !KEY_ID_PATTERN.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${index + 1} must be ${what}:secret, the ${what} of 1 to 64 letters, digits, ".", "_", "~" or "-"`,
          });
          return z.NEVER;
        }
        named.push({ name, secret: entry.slice(colon + 1) });
      }
      return named;
    });
}

/** A PEM key written in the variable (a one-line "\n" form is fine) or the path of a PEM file. */
function readPem(text: string): string | null {
  const value = text.trim();
  if (value.startsWith('-----BEGIN')) return value.replace(/\\n/g, '\n');
  try {
    return readFileSync(value, 'utf8');
  } catch {
    return null;
  }
}

function privateKey() {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const pem = readPem(text);
      const key = pem === null ? null : privateKeyPem(pem);
      if (key === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an EC P-256 private key in PEM, or the path of a file holding one' });
        return z.NEVER;
      }
      return key;
    });
}

function publicKeys() {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      const entries = text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      const keys: string[] = [];
      for (const [index, entry] of entries.entries()) {
        const pem = readPem(entry);
        const key = pem === null ? null : publicKeyPem(pem);
        if (key === null) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${index + 1} must be an EC P-256 public key in PEM, or the path of a file holding one`,
          });
          return z.NEVER;
        }
        keys.push(key);
      }
      return keys;
    });
}

function trustProxy() {
  return z
    .string()
    .default('false')
    .transform((text, ctx): TrustProxy => {
      const value = text.trim();
      if (value === 'false') return false;
      if (value === 'true') return true;
      // A hop count larger than the real number of proxies lets clients pick their address.
      if (/^\d+$/.test(value) && Number(value) <= 10) return Number(value);
      const items = value.split(',').map((item) => item.trim());
      if (items.every(isProxyAddress)) return items;
      ctx.addIssue({
        code: 'custom',
        message: 'must be false, a hop count from 0 to 10, or a list of addresses, CIDR ranges, loopback, linklocal or uniquelocal',
      });
      return z.NEVER;
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
  JWT_SECRET_ID: z
    .string()
    .optional()
    .refine((text) => text === undefined || KEY_ID_PATTERN.test(text), {
      message: 'must be 1 to 64 letters, digits, ".", "_", "~" or "-"',
    }),
  JWT_VERIFY_SECRETS: namedSecrets('kid'),
  JWT_ALGORITHM: z.enum(['HS256', 'ES256'], { error: 'must be HS256 or ES256' }).default('HS256'),
  JWT_PRIVATE_KEY: privateKey(),
  JWT_VERIFY_PUBLIC_KEYS: publicKeys(),
  INTROSPECTION_CLIENTS: namedSecrets('client id'),
  JWT_ISSUER: z.string().default('auth-server'),
  JWT_AUDIENCE: z.string().default('api'),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('7d'),
  REFRESH_REUSE_GRACE: duration('10s'),
  BCRYPT_COST: integer(12, 10, 15),
  PASSWORD_HASH_CONCURRENCY: integer(defaultHashConcurrency(), 1, 64),
  PASSWORD_HASH_QUEUE: integer(32, 0, 100_000),
  PASSWORD_HASH_NICE: integer(DEFAULT_HASHING_NICE, 0, 19),
  USERS_FILE: optionalText(),
  ALLOW_REGISTRATION: flag(true),
  LOGIN_RATE_LIMIT_MAX: integer(5, 1, 1_000_000),
  LOGIN_RATE_LIMIT_WINDOW: duration('15m'),
  RATE_LIMIT_MAX: integer(100, 1, 1_000_000),
  RATE_LIMIT_WINDOW: duration('15m'),
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: z
    .string()
    .default('auth:')
    .refine((text) => /^[\x21-\x7e]{1,64}$/.test(text), { message: 'must be 1 to 64 printable characters without spaces' }),
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
      // With ES256 the access-token secret only verifies tokens signed before the switch.
      const needed = name === 'JWT_REFRESH_SECRET' || env.JWT_ALGORITHM !== 'ES256';
      if (production && needed) problems.push(`${name}: is required in production`);
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
  if (production && env.TRUST_PROXY === true) {
    problems.push('TRUST_PROXY: "true" trusts any X-Forwarded-For in production; give a hop count or addresses');
  }
}

/**
 * The rules of the extra keys: each secret as strong as JWT_SECRET must be, no secret or `kid`
 * used twice, ES256 with its private key. Returns the warnings for what only production refuses.
 */
function keyChecks(env: Partial<Environment>, problems: string[]): string[] {
  const warnings: string[] = [];
  const production = env.NODE_ENV === 'production';
  const strong = (label: string, secret: string) => {
    const weakness = secretWeakness(secret);
    if (weakness && production) problems.push(`${label} ${weakness}`);
    else if (weakness) warnings.push(`${label} ${weakness}: it would be refused in production`);
  };
  const secrets = new Set([env.JWT_SECRET, env.JWT_REFRESH_SECRET].filter((value) => value !== undefined));
  const accessKid = env.JWT_SECRET_ID ?? (env.JWT_SECRET === undefined ? undefined : derivedKeyId(env.JWT_SECRET));
  const kids = new Set(accessKid === undefined ? [] : [accessKid]);
  for (const { name: kid, secret } of env.JWT_VERIFY_SECRETS ?? []) {
    const label = `JWT_VERIFY_SECRETS: the key "${kid}"`;
    strong(label, secret);
    if (kids.has(kid)) problems.push(`${label} has the kid of another key`);
    if (secrets.has(secret)) problems.push(`${label} repeats another secret`);
    kids.add(kid);
    secrets.add(secret);
  }

  if (env.JWT_ALGORITHM === 'ES256' && env.JWT_PRIVATE_KEY === undefined && !problems.some((p) => p.startsWith('JWT_PRIVATE_KEY:'))) {
    problems.push('JWT_PRIVATE_KEY: is required when JWT_ALGORITHM is ES256');
  }
  if (env.JWT_ALGORITHM === 'HS256' && env.JWT_PRIVATE_KEY !== undefined) {
    problems.push('JWT_PRIVATE_KEY: is set, but JWT_ALGORITHM is not ES256: set both or neither');
  }
  const publicKids = new Set(env.JWT_PRIVATE_KEY === undefined ? [] : [ecVerificationKey(publicKeyPem(env.JWT_PRIVATE_KEY)!).kid]);
  for (const [index, pem] of (env.JWT_VERIFY_PUBLIC_KEYS ?? []).entries()) {
    const { kid } = ecVerificationKey(pem);
    if (publicKids.has(kid)) problems.push(`JWT_VERIFY_PUBLIC_KEYS: entry ${index + 1} is the signing key or another entry again`);
    publicKids.add(kid);
  }

  const clientIds = new Set<string>();
  for (const { name: id, secret } of env.INTROSPECTION_CLIENTS ?? []) {
    const label = `INTROSPECTION_CLIENTS: the client "${id}"`;
    strong(label, secret);
    if (clientIds.has(id)) problems.push(`${label} is listed twice`);
    if (secrets.has(secret)) problems.push(`${label} reuses a token secret`);
    clientIds.add(id);
  }
  return warnings;
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
  const keyWarnings = keyChecks(parsed as Partial<Environment>, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const e = parsed as Environment;
  const warnings: string[] = [];
  const secret = (name: 'JWT_SECRET' | 'JWT_REFRESH_SECRET'): string => {
    const value = e[name];
    if (value === undefined && name === 'JWT_SECRET' && e.JWT_ALGORITHM === 'ES256') return generatedSecret();
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
      accessKeyId: e.JWT_SECRET_ID ?? null,
      verifySecrets: e.JWT_VERIFY_SECRETS.map(({ name, secret: value }) => ({ kid: name, secret: value })),
      algorithm: e.JWT_ALGORITHM,
      privateKey: e.JWT_PRIVATE_KEY ?? null,
      verifyPublicKeys: e.JWT_VERIFY_PUBLIC_KEYS,
    },
    bcryptCost: e.BCRYPT_COST,
    passwordHashing: { concurrency: e.PASSWORD_HASH_CONCURRENCY, queue: e.PASSWORD_HASH_QUEUE, nice: e.PASSWORD_HASH_NICE },
    usersFile: e.USERS_FILE ?? null,
    allowRegistration: e.ALLOW_REGISTRATION,
    rateLimits: {
      login: { max: e.LOGIN_RATE_LIMIT_MAX, windowMs: e.LOGIN_RATE_LIMIT_WINDOW },
      perAddress: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW },
    },
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    redis: e.REDIS_URL === undefined ? null : { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX },
    introspectionClients: e.INTROSPECTION_CLIENTS.map(({ name, secret: value }) => ({ id: name, secret: value })),
  };
  warnings.push(...keyWarnings);
  return { config: deepFreeze(config), warnings };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
