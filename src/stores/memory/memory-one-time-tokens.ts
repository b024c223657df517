// In-memory one-time tokens (reset and verification links), kept by hash, expired on the injected clock.
import type { Clock } from '../../lib/clock';
import type { OneTimeTokenPurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../types';

export class MemoryOneTimeTokenStore implements OneTimeTokenStore {
  /** "<purpose> <hash>" → token: each purpose is its own namespace. */
  private readonly tokens = new Map<string, OneTimeTokenRecord>();
  /** "<purpose> <user id>" → the keys of that user's tokens of that purpose. */
  private readonly keysByUser = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock) {}

  async create(token: OneTimeTokenRecord): Promise<void> {
    const key = tokenKey(token.purpose, token.hash);
    const previous = this.tokens.get(key);
    if (previous) this.remove(key, previous);
    this.tokens.set(key, { ...token });
    const userKey = tokenKey(token.purpose, token.userId);
    let keys = this.keysByUser.get(userKey);
    if (!keys) {
      keys = new Set();
      this.keysByUser.set(userKey, keys);
    }
    keys.add(key);
  }

  async consume(hash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord | null> {
    // No await below this line: the look-up and the removal are one step, so one caller wins.
    const key = tokenKey(purpose, hash);
    const token = this.tokens.get(key);
    if (!token) return null;
    this.remove(key, token);
    return token.expiresAt <= this.clock.now() ? null : token;
  }

  async deleteForUser(userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const keys = this.keysByUser.get(tokenKey(purpose, userId));
    if (!keys) return 0;
    const now = this.clock.now();
    let voided = 0;
    for (const key of [...keys]) {
      const token = this.tokens.get(key)!;
      // An expired token was no longer outstanding: it goes, but does not count.
      if (token.expiresAt > now) voided += 1;
      this.remove(key, token);
    }
    return voided;
  }

  /** Drops every expired token. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, token] of this.tokens) {
      if (token.expiresAt <= now) this.remove(key, token);
    }
  }

  /** Tokens held, expired ones not yet swept included. */
  get size(): number {
    return this.tokens.size;
  }

  /** Whether the token is held, expired or not (for tests of sweeping). */
  holds(hash: string, purpose: OneTimeTokenPurpose): boolean {
    return this.tokens.has(tokenKey(purpose, hash));
  }

  private remove(key: string, token: OneTimeTokenRecord): void {
    this.tokens.delete(key);
    const userKey = tokenKey(token.purpose, token.userId);
    const keys = this.keysByUser.get(userKey);
    keys?.delete(key);
    if (keys && keys.size === 0) this.keysByUser.delete(userKey);
  }
}

// A space cannot occur in a purpose, so "<purpose> <rest>" never collides across purposes.
function tokenKey(purpose: OneTimeTokenPurpose, rest: string): string {
  return `${purpose} ${rest}`;
}
