// The second-factor section: MFA_ENCRYPTION_KEY, the key that encrypts TOTP secrets at rest, and when a random one will do.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Parsed } from './fields';

export interface MfaConfig {
  readonly mfa: {
    /**
     * The AES-256-GCM key of the TOTP secrets (32 bytes, hex). Null when none was given and the
     * factors would outlive the process (a database or Redis outside production): enrolment then
     * answers 501 not_configured rather than store secrets no later process could read.
     */
    readonly encryptionKey: string | null;
  };
}

const MIN_KEY_BYTES = 32;

const KEY_FORMAT = `must be at least ${MIN_KEY_BYTES} random bytes written in base64 or hex, such as the output of \`openssl rand -base64 32\``;

/**
 * The bytes of MFA_ENCRYPTION_KEY: hex when it is only hex digits (an even count), else base64 or
 * base64url. Raw text is refused: a passphrase is no key, and refusing it beats guessing.
 */
function keyBytes(text: string): Buffer | null {
  const value = text.trim();
  if (/^(?:[0-9a-fA-F]{2})+$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return null;
}

function encryptionKey() {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const bytes = keyBytes(text);
      // Never echo the value: it is the key.
      if (bytes === null || bytes.length < MIN_KEY_BYTES) {
        ctx.addIssue({ code: 'custom', message: KEY_FORMAT });
        return z.NEVER;
      }
      return bytes.toString('hex');
    });
}

export const mfaVariables = {
  MFA_ENCRYPTION_KEY: encryptionKey(),
};

type MfaEnvironment = Parsed<typeof mfaVariables> & { REDIS_URL?: string | undefined; DATABASE_URL?: unknown };

/** Whether factors are kept beyond this process: then a key must survive restarts too. */
function durableStores(env: Partial<MfaEnvironment>): boolean {
  return env.DATABASE_URL !== undefined || env.REDIS_URL !== undefined;
}

/** 32 random bytes still make a weak key when they are mostly one value (a zeroed or repeated buffer). */
function keyWeakness(hex: string): string | null {
  const bytes = Buffer.from(hex, 'hex');
  return new Set(bytes).size < 16 ? 'has too little variety to be random' : null;
}

/** What production refuses: durable factors without a key (unreadable after a restart), or a weak key. */
export function mfaChecks(env: Partial<MfaEnvironment>, production: boolean, problems: string[]): void {
  if (!production) return;
  const key = env.MFA_ENCRYPTION_KEY;
  if (key === undefined && durableStores(env)) {
    problems.push(
      'MFA_ENCRYPTION_KEY: is required in production when DATABASE_URL or REDIS_URL is set (TOTP secrets stored there would be unreadable after a restart)',
    );
  }
  if (key !== undefined && keyWeakness(key)) problems.push(`MFA_ENCRYPTION_KEY: ${keyWeakness(key)}`);
}

/**
 * The section of a checked environment. The AES key is derived from the given bytes with HKDF, so
 * that a key longer than 32 bytes counts in full and the key is used for this purpose only.
 */
export function mfaSettings(e: MfaEnvironment, warnings: string[]): MfaConfig {
  const given = e.MFA_ENCRYPTION_KEY;
  if (given !== undefined) {
    const weakness = keyWeakness(given);
    if (weakness) warnings.push(`MFA_ENCRYPTION_KEY ${weakness}: it would be refused in production`);
    return { mfa: { encryptionKey: deriveKey(Buffer.from(given, 'hex')) } };
  }
  if (durableStores(e)) {
    warnings.push(
      'MFA_ENCRYPTION_KEY is not set: TOTP enrolment is off (501 not_configured), since secrets stored in the database or Redis would be unreadable after a restart',
    );
    return { mfa: { encryptionKey: null } };
  }
  warnings.push('MFA_ENCRYPTION_KEY is not set: using a random one (TOTP factors are in memory and end with the process anyway)');
  return { mfa: { encryptionKey: deriveKey(randomBytes(MIN_KEY_BYTES)) } };
}

function deriveKey(material: Buffer): string {
  // A fixed salt: the input is already a random key, HKDF only shapes it to 32 bytes for one use.
  const salt = createHash('sha256').update('auth-server mfa').digest();
  return Buffer.from(hkdfSync('sha256', material, salt, 'totp-secret-encryption v1', 32)).toString('hex');
}
