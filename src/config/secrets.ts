// When a secret is too weak to sign tokens: length, well-known and placeholder values, too little variety.
import { randomBytes } from 'node:crypto';

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

/** A random secret for a process started without one outside production. */
export function generatedSecret(): string {
  return randomBytes(48).toString('base64url');
}
