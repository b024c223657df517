// The second factor: TOTP enrolment and removal, recovery codes, and the mfa_token step of a sign-in.
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import { randomId } from '../lib/random-id';
import type { MfaStore, OneTimeTokenStore, RateLimitCounter, UserRecord } from '../stores/types';
import { hashOneTimeToken } from './one-time-tokens';
import type { MfaChallenge, SecondFactorGate } from './session-service';
import type { SecretBox } from './secret-box';
import type { TokenService } from './tokens';
import { matchingStep, newTotpSecret, otpauthUri } from './totp';

/** How long a sign-in waits for its second factor (the contract's `expires_in`). */
export const MFA_TOKEN_TTL_SEC = 300;
/** Wrong codes an mfa_token allows; the next attempt finds it void. */
export const MFA_TOKEN_MAX_WRONG = 5;
export const RECOVERY_CODE_COUNT = 10;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 10 base32 characters: 50 random bits each, shown as two groups of five ("ABCDE-FGHJK"). */
const RECOVERY_CODE_CHARS = 10;

/** How long a display of `mfa_enabled` may trail a change made on another instance. */
const STATUS_CACHE_MS = 5_000;
const STATUS_CACHE_MAX = 10_000;

/** A recovery code as typed: case, spaces and the dash do not matter. */
function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(normaliseRecoveryCode(code)).digest('base64url');
}

function newRecoveryCode(): string {
  // 32 divides 256: each byte gives an unbiased character.
  const chars = [...randomBytes(RECOVERY_CODE_CHARS)].map((byte) => BASE32[byte % 32]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

export interface MfaServiceDeps {
  factors: MfaStore;
  oneTimeTokens: OneTimeTokenStore;
  counters: RateLimitCounter;
  tokens: TokenService;
  /** Null when MFA_ENCRYPTION_KEY is missing where factors outlive the process: enrolment is off. */
  box: SecretBox | null;
  /** The issuer shown in authenticator apps. */
  issuer: string;
  clock: Clock;
  logger: Logger;
}

export class MfaService implements SecondFactorGate {
  /** userId → whether a confirmed factor exists, for the User JSON only (never for a decision). */
  private readonly statusCache = new Map<string, { enabled: boolean; until: number }>();

  constructor(private readonly deps: MfaServiceDeps) {}

  /** Starts (or restarts) an enrolment: a new secret, pending until its first code is confirmed. */
  async enrol(user: UserRecord): Promise<{ secret: string; otpauthUri: string }> {
    const box = this.requireBox();
    const secret = newTotpSecret();
    const stored = await this.deps.factors.putPending({
      userId: user.id,
      secretCiphertext: box.seal(secret, user.id),
      confirmed: false,
      createdAt: this.deps.clock.now(),
      lastUsedStep: null,
      recoveryCodeHashes: [],
    });
    if (stored === 'already_enabled') throw new AppError('mfa_already_enabled');
    return { secret, otpauthUri: otpauthUri(secret, user.email, this.deps.issuer) };
  }

  /** Confirms the pending enrolment with a code of its secret; returns the recovery codes, shown this once. */
  async confirm(userId: string, code: string): Promise<string[]> {
    const box = this.requireBox();
    const factor = await this.deps.factors.get(userId);
    if (factor?.confirmed) throw new AppError('mfa_already_enabled');
    if (!factor) throw new AppError('invalid_request', { description: 'No TOTP enrolment is pending; start one with POST /mfa/totp.' });
    const secret = this.open(box, factor.secretCiphertext, userId);
    const step = matchingStep(secret, code, this.deps.clock.now());
    if (step === null) throw new AppError('invalid_mfa_code');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    // The step of the confirming code counts as used: the same code cannot then sign in.
    const confirmed = await this.deps.factors.confirm(userId, factor.secretCiphertext, codes.map(hashRecoveryCode), step);
    if (!confirmed) {
      // Another request confirmed or replaced this enrolment in between.
      throw new AppError('invalid_request', { description: 'The enrolment changed meanwhile; start again with POST /mfa/totp.' });
    }
    this.remember(userId, true);
    this.deps.logger.info({ userId }, 'mfa enabled');
    return codes;
  }

  /** Removes the factor after a TOTP or recovery code of it. */
  async disable(userId: string, code: string): Promise<void> {
    const factor = await this.deps.factors.get(userId);
    if (!factor?.confirmed) throw new AppError('not_found', { description: 'Two-step sign-in is not on for this account.' });
    if (!(await this.useCode(userId, factor.secretCiphertext, code))) throw new AppError('invalid_mfa_code');
    await this.deps.factors.delete(userId);
    this.remember(userId, false);
    this.deps.logger.info({ userId }, 'mfa disabled');
  }

  /** SecondFactorGate: a challenge for a user with a confirmed factor, read from the store (never the cache). */
  async challenge(user: UserRecord): Promise<MfaChallenge | null> {
    const factor = await this.deps.factors.get(user.id);
    this.remember(user.id, factor?.confirmed === true);
    if (!factor?.confirmed) return null;
    // The mfa_token is a JWT naming the user and this attempt (jti), signed with the refresh key,
    // so that reading it needs no store; what a signature cannot give is kept in the stores:
    // single use (a one-time token record under the jti's hash, taken out atomically by the one
    // successful answer) and the wrong-code budget (a counter under the same hash, on every instance).
    const tokenId = randomId();
    const now = this.deps.clock.now();
    await this.deps.oneTimeTokens.create({
      hash: hashOneTimeToken(tokenId),
      purpose: 'mfa_challenge',
      userId: user.id,
      createdAt: now,
      expiresAt: now + MFA_TOKEN_TTL_SEC * 1000,
    });
    const mfaToken = this.deps.tokens.signMfaToken({ userId: user.id, tokenId, ttlSec: MFA_TOKEN_TTL_SEC });
    return { mfaToken, expiresIn: MFA_TOKEN_TTL_SEC };
  }

  /** The user an mfa_token names, or 401 invalid_grant; changes nothing (the failed-login limiter keys on this user). */
  readChallenge(mfaToken: string): { userId: string; tokenId: string } {
    return this.deps.tokens.verifyMfaToken(mfaToken, MFA_TOKEN_TTL_SEC);
  }

  /**
   * Answers a challenge: the user id when `code` is a right, unused TOTP or recovery code and the
   * mfa_token is unused, live and has wrong codes left. A wrong code is 401 invalid_mfa_code; the
   * attempt after the fifth wrong one, a token used or expired: 401 invalid_grant.
   */
  async completeChallenge(mfaToken: string, code: string): Promise<string> {
    const { userId, tokenId } = this.readChallenge(mfaToken);
    const key = `mfa:${hashOneTimeToken(tokenId)}`;
    // Every attempt counts before the code is looked at: of concurrent guesses, no more than the
    // budget are checked (and only one at a time: each holds the sign-in while it checks). The
    // right answer takes the token away, so counting it costs nobody.
    const { totalHits } = await this.deps.counters.increment(key, MFA_TOKEN_TTL_SEC * 1000);
    if (totalHits > MFA_TOKEN_MAX_WRONG) {
      await this.voidChallenge(tokenId);
      throw new AppError('invalid_grant', { description: 'Too many wrong codes; log in again.' });
    }
    // The sign-in is taken out first, atomically, so that no code is ever spent on a token already
    // used, expired or voided; a wrong code puts it back while wrong codes are left.
    const record = await this.deps.oneTimeTokens.consume(hashOneTimeToken(tokenId), 'mfa_challenge');
    if (!record || record.userId !== userId) {
      throw new AppError('invalid_grant', { description: 'The sign-in is used or expired; log in again.' });
    }
    const factor = await this.deps.factors.get(userId);
    const right = factor?.confirmed === true && (await this.useCode(userId, factor.secretCiphertext, code));
    if (!right) {
      if (totalHits < MFA_TOKEN_MAX_WRONG) await this.deps.oneTimeTokens.create(record);
      this.deps.logger.info({ userId }, 'mfa code refused');
      throw new AppError('invalid_mfa_code');
    }
    await this.deps.counters.resetKey(key);
    return userId;
  }

  /**
   * Whether the user has a confirmed factor, for the User JSON (`mfa_enabled`). GET /profile is the
   * hot path and, on a database, reads its user from a local copy: a store read per request would
   * add a round trip there. So the answer is kept for 5 s; this instance updates it on every change
   * it makes, another instance's change shows within 5 s. Sign-in never asks this: it reads the store.
   */
  async isEnabled(userId: string): Promise<boolean> {
    const now = this.deps.clock.now();
    const cached = this.statusCache.get(userId);
    if (cached && cached.until > now) return cached.enabled;
    const enabled = (await this.deps.factors.get(userId))?.confirmed === true;
    this.remember(userId, enabled);
    return enabled;
  }

  /** Removes every factor of the user without a code (an admin's action); true if there was one. */
  async removeAll(userId: string): Promise<boolean> {
    const removed = await this.deps.factors.delete(userId);
    this.remember(userId, false);
    if (removed) this.deps.logger.info({ userId }, 'second factor removed by an admin');
    return removed;
  }

  /** Forgets a deleted user's status. */
  forget(userId: string): void {
    this.statusCache.delete(userId);
  }

  private remember(userId: string, enabled: boolean): void {
    // Bounded: past the cap the whole map goes (it refills from the store within seconds).
    if (this.statusCache.size >= STATUS_CACHE_MAX) this.statusCache.clear();
    this.statusCache.set(userId, { enabled, until: this.deps.clock.now() + STATUS_CACHE_MS });
  }

  /** A TOTP code (its step then used up, on every instance) or a recovery code (then gone): true once per code. */
  private async useCode(userId: string, secretCiphertext: string, code: string): Promise<boolean> {
    if (/^\d+$/.test(code)) {
      const secret = this.open(this.requireBox(), secretCiphertext, userId);
      const step = matchingStep(secret, code, this.deps.clock.now());
      return step !== null && (await this.deps.factors.useStep(userId, step));
    }
    if (normaliseRecoveryCode(code).length !== RECOVERY_CODE_CHARS) return false;
    return this.deps.factors.useRecoveryCode(userId, hashRecoveryCode(code));
  }

  private async voidChallenge(tokenId: string): Promise<void> {
    await this.deps.oneTimeTokens.consume(hashOneTimeToken(tokenId), 'mfa_challenge');
  }

  private requireBox(): SecretBox {
    if (!this.deps.box) {
      throw new AppError('not_configured', { description: 'Two-step sign-in is not configured on this server (MFA_ENCRYPTION_KEY).' });
    }
    return this.deps.box;
  }

  /** The secret in clear; a secret sealed under another key is a server fault, never a wrong code. */
  private open(box: SecretBox, sealed: string, userId: string): string {
    const secret = box.open(sealed, userId);
    if (secret === null) throw new Error('a TOTP secret does not open with MFA_ENCRYPTION_KEY (was the key changed?)');
    return secret;
  }
}
