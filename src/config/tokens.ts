// The token section: signing and verifying keys (HS256 secrets, ES256 keys, kids), issuer, audience, lifetimes, introspection clients.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KEY_ID_PATTERN, derivedKeyId, ecVerificationKey, privateKeyPem, publicKeyPem } from '../auth/keys';
import { commaList, duration, optionalText, type Parsed } from './fields';
import { generatedSecret, secretWeakness } from './secrets';

export interface TokenConfig {
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
    /** HS256 keys that verify access tokens but never sign them (a rotation in progress; with ES256, the only HS256 keys). */
    readonly verifySecrets: readonly { readonly kid: string; readonly secret: string }[];
    /** What signs access tokens; ES256 uses privateKey, and accessSecret is then unused. */
    readonly algorithm: 'HS256' | 'ES256';
    /** P-256 private key (PKCS#8 PEM) when algorithm is ES256. */
    readonly privateKey: string | null;
    /** P-256 public keys (SPKI PEM) that verify access tokens and are published in the JWKS. */
    readonly verifyPublicKeys: readonly string[];
  };
  /** Callers of POST /introspect (HTTP Basic). */
  readonly introspectionClients: readonly { readonly id: string; readonly secret: string }[];
}

/** "name:secret,name:secret", each name a `kid` or client id; an entry is named by position, never shown. */
function namedSecrets(what: string) {
  return z
    .string()
    .default('')
    .transform((text, ctx) => {
      const entries = commaList(text);
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
      const entries = commaList(text);
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

export const tokenVariables = {
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
};

type TokenEnvironment = Parsed<typeof tokenVariables>;

/**
 * The secrets production requires and refuses when weak, and the lifetimes that only make sense
 * together. A variable that failed its own check is missing from `env`; the rules that need it
 * are skipped (its own problem is already listed).
 */
export function tokenChecks(env: Partial<TokenEnvironment>, production: boolean, problems: string[]): void {
  for (const name of ['JWT_SECRET', 'JWT_REFRESH_SECRET'] as const) {
    const secret = env[name];
    if (secret === undefined) {
      // With ES256 the access-token secret is not used (JWT_VERIFY_SECRETS carries the keys of the switch).
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
  // An issuer URL is where verifiers discover the signing keys (RFC 8414 §2 asks for https): over
  // plain http anyone on the path could swap them. The same test as discovery's: any spelling it serves counts.
  const discoverable = env.JWT_ISSUER === undefined ? null : discoverableIssuer(env.JWT_ISSUER);
  if (production && discoverable !== null && new URL(discoverable).protocol === 'http:') {
    problems.push('JWT_ISSUER: must be an https:// URL in production when it is a URL (verifiers fetch the signing keys from it)');
  }
}

/**
 * The rules of the extra keys: each secret as strong as JWT_SECRET must be, no secret or `kid`
 * used twice, ES256 with its private key. Returns the warnings: what only production refuses, an unused JWT_SECRET.
 */
export function keyChecks(env: Partial<TokenEnvironment>, production: boolean, problems: string[]): string[] {
  const warnings: string[] = [];
  const strong = (label: string, secret: string) => {
    const weakness = secretWeakness(secret);
    if (weakness && production) problems.push(`${label} ${weakness}`);
    else if (weakness) warnings.push(`${label} ${weakness}: it would be refused in production`);
  };
  // With ES256, JWT_SECRET is no key at all: moving it into JWT_VERIFY_SECRETS for the switch is no repeat.
  const es256 = env.JWT_ALGORITHM === 'ES256';
  const accessSecret = es256 ? undefined : env.JWT_SECRET;
  if (es256 && env.JWT_SECRET !== undefined) {
    warnings.push(
      'JWT_SECRET is not used with JWT_ALGORITHM=ES256: to accept the HS256 tokens issued before the switch, list its key in JWT_VERIFY_SECRETS (kid:secret) for one ACCESS_TOKEN_TTL',
    );
  }
  const secrets = new Set([accessSecret, env.JWT_REFRESH_SECRET].filter((value) => value !== undefined));
  const accessKid = accessSecret === undefined ? undefined : (env.JWT_SECRET_ID ?? derivedKeyId(accessSecret));
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

  // A client secret may be no token secret, used or not.
  if (env.JWT_SECRET !== undefined) secrets.add(env.JWT_SECRET);
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

/**
 * The token section of a checked environment. Outside production a missing secret is replaced
 * by a random one, and a missing or weak one is added to `warnings`.
 */
export function tokenSettings(e: TokenEnvironment, warnings: string[]): TokenConfig {
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
  return {
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
    introspectionClients: e.INTROSPECTION_CLIENTS.map(({ name, secret: value }) => ({ id: name, secret: value })),
  };
}

/**
 * The issuer when it is a URL this server can be discovered at: http(s), with no credentials,
 * query or fragment (RFC 8414 §2) and no white space; otherwise null, and the paths are unknown.
 * The string itself is kept (not a normalised URL) because `issuer` must equal every token's `iss`.
 */
export function discoverableIssuer(issuer: string): string | null {
  if (/[\s?#]/.test(issuer)) return null;
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '') return null;
  return issuer;
}
