// One-time tokens for reset and verification links: 256 random bits handed out once, kept only as SHA-256 hashes.
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { OneTimeTokenPurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../stores/types';

/** 32 bytes: twice the 128 bits the contract asks for, 43 base64url characters in a link. */
const TOKEN_BYTES = 32;

/** The stored form of a token: a leaked store gives no usable link, and a hash needs no salt at 256 random bits. */
export function hashOneTimeToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const DESCRIPTIONS: Record<OneTimeTokenPurpose, string> = {
  password_reset: 'The reset link is invalid, used or expired; ask for a new one.',
  email_verification: 'The verification link is invalid, used or expired; ask for a new one.',
  mfa_challenge: 'The sign-in is invalid, used or expired; log in again.',
};

export class OneTimeTokens {
  constructor(
    private readonly store: OneTimeTokenStore,
    private readonly clock: Clock,
  ) {}

  /** A fresh token for the user; only its hash is stored. */
  async issue(userId: string, purpose: OneTimeTokenPurpose, ttlMs: number): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = this.clock.now();
    await this.store.create({ hash: hashOneTimeToken(token), purpose, userId, createdAt: now, expiresAt: now + ttlMs });
    return token;
  }

  /**
   * Uses the token up and returns what it was for. Unknown, used, expired, or of another purpose
   * (a verification token at reset): 400 invalid_grant, one answer for all.
   */
  async redeem(token: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord> {
    const record = await this.store.consume(hashOneTimeToken(token), purpose);
    if (!record) throw new AppError('invalid_grant', { status: 400, description: DESCRIPTIONS[purpose] });
    return record;
  }

  /** Runs `work` for a redeemed token; if it throws, the token is put back unused (its expiry unchanged) and the error goes on. */
  async keepOnFailure<T>(record: OneTimeTokenRecord, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      // The work's error is what the caller must hear, even when the store cannot take the token back.
      await this.store.create(record).catch(() => undefined);
      throw error;
    }
  }

  /** Voids every outstanding token of the user for the purpose. */
  voidAll(userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    return this.store.deleteForUser(userId, purpose);
  }
}
