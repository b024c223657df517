// Password rules and hashing: bcrypt, pre-hashed beyond its 72 bytes, on hashing threads of its own so that it never blocks the event loop.
import { createHmac, randomBytes } from 'node:crypto';
import { isCommonPassword, loadCommonPasswords } from './common-passwords';
import type { HashGate } from './hash-gate';
import { DEFAULT_HASHING_NICE, hashingThreads, type BcryptInput, type HashingThreads } from './hashing-threads';

/** OWASP ASVS 5.0 V6.2.1 and V6.2.9: at least 8 characters, and 64 and more allowed. In Unicode code points. */
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 128;
/** bcrypt reads no further: a password longer than this in UTF-8 is pre-hashed, never cut. */
export const BCRYPT_MAX_BYTES = 72;
/**
 * The HMAC-SHA256 key of the pre-hash: public and fixed (hashes depend on it), so no secret, but a
 * domain separation: the digest is this server's alone, so a plain SHA-256 of the same password
 * leaked from elsewhere cannot be tried against a stolen hash as it is ("password shucking").
 */
export const PREHASH_KEY = 'auth-server/bcrypt-prehash/v1';
/**
 * The byte bcrypt reads before a pre-hash: 0xFF never occurs in UTF-8, so no password typed as it
 * is can equal a pre-hash, and the digest of a long password is not a second password for it.
 */
const PREHASH_MARK = Buffer.from([0xff]);

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Why a password cannot be used. */
export interface PasswordProblem {
  /** Completes "The password …", e.g. "must be at least 8 characters". */
  message: string;
  /** The length and characters are fine, but it is among the first an attacker would try. */
  guessable: boolean;
}

/** How long a password is in the rules: Unicode code points, so an emoji is one character, not two. */
export function passwordLength(password: string): number {
  let length = 0;
  // A code point above U+FFFF is a pair of UTF-16 units: one step over both (a lone surrogate is one).
  for (let i = 0; i < password.length; i += password.codePointAt(i)! > 0xffff ? 2 : 1) length += 1;
  return length;
}

/**
 * Why a given password can never match any account (too long, or with a NUL), or null: checked at
 * login before any hashing. No length minimum: accounts made before this rule keep logging in.
 */
export function givenPasswordProblem(password: string): PasswordProblem | null {
  if (passwordLength(password) > MAX_PASSWORD_CHARS) return { message: `must be at most ${MAX_PASSWORD_CHARS} characters`, guessable: false };
  // The native bcrypt stops at a NUL byte: "secret\0anything" would match "secret".
  if (password.includes('\u0000')) return { message: 'must not contain a NUL character', guessable: false };
  return null;
}

/** Why a new password cannot be used, or null. Shared by registration and the hash-password command. */
export function passwordProblem(password: string): PasswordProblem | null {
  if (passwordLength(password) < MIN_PASSWORD_CHARS) return { message: `must be at least ${MIN_PASSWORD_CHARS} characters`, guessable: false };
  const problem = givenPasswordProblem(password);
  if (problem) return problem;
  if (isCommonPassword(password)) {
    return { message: 'is one of the most common passwords; choose one that is harder to guess', guessable: true };
  }
  return null;
}

/**
 * What bcrypt is given for a password: the password itself up to 72 bytes of UTF-8 (so every hash
 * made before pre-hashing existed still verifies), beyond that the byte 0xFF and the base64 of its
 * HMAC-SHA256 under PREHASH_KEY: 45 bytes, all of them read by bcrypt, no NUL. Whether to pre-hash
 * follows from the password alone, so a hash carries no mark of it.
 */
export function bcryptInput(password: string): BcryptInput {
  if (Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES) return password;
  const digest = createHmac('sha256', PREHASH_KEY).update(password, 'utf8').digest('base64');
  return Buffer.concat([PREHASH_MARK, Buffer.from(digest, 'ascii')]);
}

/** A well-formed hash of no password at this cost: comparing against it costs what a real one does. */
function dummyHash(cost: number): string {
  const chars = [...randomBytes(53)].map((byte) => BCRYPT_ALPHABET[byte % 64]).join('');
  return `$2b$${String(cost).padStart(2, '0')}$${chars}`;
}

export class PasswordHasher {
  private readonly dummy: string;
  private readonly threads: HashingThreads;

  /**
   * With a gate, every hash and comparison waits for one of its slots (or is refused with 503).
   * `nice`: the nice value of the hashing threads on Linux (PASSWORD_HASH_NICE).
   */
  constructor(
    private readonly cost: number,
    private readonly gate?: HashGate,
    nice = DEFAULT_HASHING_NICE,
  ) {
    this.dummy = dummyHash(cost);
    this.threads = hashingThreads(nice);
    // Now, as the app is built, rather than in the first registration's request, whose event-loop
    // turn it would stretch by a tenth of a second.
    loadCommonPasswords();
  }

  /** bcrypt's hash of the password; `client`, the address asking, for the gate's fair share. */
  hash(password: string, client = ''): Promise<string> {
    const input = bcryptInput(password);
    return this.limited(client, () => this.threads.hash(input, this.cost));
  }

  /**
   * Compares a password with a user's hash. With no user (hash null) it compares against a dummy
   * hash of the same cost, so an unknown email takes as long as a wrong password.
   */
  async verify(password: string, hash: string | null, client = ''): Promise<boolean> {
    const input = bcryptInput(password);
    // The unknown email waits in the same queue as a known one: a 503 tells nothing about the email.
    const matches = await this.limited(client, () => this.threads.compare(input, hash ?? this.dummy));
    return hash !== null && matches;
  }

  private limited<T>(client: string, job: () => Promise<T>): Promise<T> {
    return this.gate ? this.gate.run(job, client) : job();
  }
}
