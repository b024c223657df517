// Password hashing with bcrypt, on hashing threads of its own so that it never blocks the event loop.
import { randomBytes } from 'node:crypto';
import type { HashGate } from './hash-gate';
import { DEFAULT_HASHING_NICE, hashingThreads, type HashingThreads } from './hashing-threads';

/** bcrypt reads only the first 72 bytes; longer passwords are refused, never silently cut. */
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_BYTES = 8;

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Why a password cannot be used, or null. Shared by registration and the hash-password command. */
export function passwordProblem(password: string): string | null {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < MIN_PASSWORD_BYTES) return `must be at least ${MIN_PASSWORD_BYTES} bytes`;
  if (bytes > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`;
  // The native bcrypt stops at a NUL byte: "secret\0anything" would match "secret".
  if (password.includes('\u0000')) return 'must not contain a NUL character';
  return null;
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
  }

  hash(password: string): Promise<string> {
    return this.limited(() => this.threads.hash(password, this.cost));
  }

  /**
   * Compares a password with a user's hash. With no user (hash null) it compares against a dummy
   * hash of the same cost, so an unknown email takes as long as a wrong password.
   */
  async verify(password: string, hash: string | null): Promise<boolean> {
    // The unknown email waits in the same queue as a known one: a 503 tells nothing about the email.
    const matches = await this.limited(() => this.threads.compare(password, hash ?? this.dummy));
    return hash !== null && matches;
  }

  private limited<T>(job: () => Promise<T>): Promise<T> {
    return this.gate ? this.gate.run(job) : job();
  }
}
