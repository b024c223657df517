// Access tokens that passed verification, remembered so that the same token presented again skips the signature check (jsonwebtoken).
import type { AccessClaims } from './access-claims';

/** How many tokens are remembered: about 600 bytes each, so at most about 6 MB. */
export const VERIFIED_TOKENS_CAPACITY = 10_000;

interface Entry {
  claims: AccessClaims;
  /** The time (seconds) the token was verified at. */
  verifiedAtSec: number;
}

/**
 * Every time check of an access token (exp, nbf, iat not in the future) only ever turns from
 * "refused" to "accepted" as time moves forward, except `exp`. So a token accepted at `verifiedAtSec`
 * is accepted again at any later time before its `exp`, with the same keys: the keys of this server
 * are fixed at start-up, and the key is the whole token string, signature included. A clock that has
 * gone back (or a token past its `exp`) is verified afresh. The revocation check is not remembered:
 * it runs on every request.
 *
 * Bounded: when full, the token remembered first is forgotten first. A client uses its access
 * token for its whole lifetime, so most protected requests are hits.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = VERIFIED_TOKENS_CAPACITY) {}

  /** The claims of `token` if it was verified before and the answer still stands at `nowSec`. */
  get(token: string, nowSec: number): AccessClaims | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (nowSec >= entry.verifiedAtSec && nowSec < entry.claims.expiresAt) return entry.claims;
    this.entries.delete(token);
    return undefined;
  }

  remember(token: string, claims: AccessClaims, verifiedAtSec: number): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { claims: Object.freeze(claims), verifiedAtSec });
  }

  get size(): number {
    return this.entries.size;
  }
}
