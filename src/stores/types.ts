// The store contracts: what the auth domain may ask of storage, and what each answer guarantees.
import type { Role } from '../config';

export type { Role };

/** A registered account. Times are milliseconds since the epoch. */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface UserStore {
  /**
   * Adds the user unless the email is already registered.
   * Atomic: of two concurrent creates with one email exactly one returns 'created'.
   */
  create(user: UserRecord): Promise<'created' | 'email_taken'>;
  /** The user with this (already normalised) email, or null. */
  findByEmail(email: string): Promise<UserRecord | null>;
  findById(id: string): Promise<UserRecord | null>;
  /** Every user, in the order they were created. */
  list(): Promise<UserRecord[]>;
}

/**
 * A login session and the state of its refresh-token chain. Only token ids (`jti`) are kept,
 * never a token: a leaked store does not hand out usable refresh tokens.
 */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  lastUsedAt: number;
  /** Absolute end: first login plus the refresh lifetime. Rotation never moves it. */
  readonly expiresAt: number;
  readonly userAgent: string;
  readonly ip: string;
  /** The one refresh token of this session that may be exchanged now. */
  refreshJti: string;
  /** Its `iat` (seconds), so the grace window can re-issue the identical token. */
  refreshIat: number;
  /** The token rotated out last, honoured only within the grace window after `rotatedAt`. */
  previousJti: string | null;
  rotatedAt: number;
}

/** What presenting a refresh token did to its session. */
export type RotationOutcome =
  /** The token was current: the session now expects `next`. */
  | { kind: 'rotated'; session: SessionRecord }
  /** The token was rotated out moments ago: its successor (still current) stands. */
  | { kind: 'grace'; session: SessionRecord }
  /** The token was rotated out before: replay. The session has been ended. */
  | { kind: 'reused'; session: SessionRecord }
  /** No live session: ended, expired or never existed. */
  | { kind: 'no_session' };

export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  /** The live session, or null when it has ended or expired. */
  get(sessionId: string): Promise<SessionRecord | null>;
  /**
   * Whether the session is live. The revocation check of every protected request: an ended
   * session is the revocation of all its tokens.
   */
  isActive(sessionId: string): Promise<boolean>;
  /**
   * Consumes the refresh token `presentedJti` of the session and installs `next` in one atomic
   * step: of N concurrent calls with the same token exactly one sees 'rotated'; the others see
   * 'grace' within `graceMs` of that rotation, or 'reused' after it (which ends the session).
   * Any other `jti` of a live session is 'reused' too: only this server can sign one, so it is
   * an older token of the chain.
   */
  rotate(
    sessionId: string,
    presentedJti: string,
    next: { jti: string; iat: number },
    graceMs: number,
  ): Promise<RotationOutcome>;
  /** Live sessions of a user, oldest first. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Ends a session; true if it was live. */
  end(sessionId: string): Promise<boolean>;
  /** Ends every live session of a user except `keepSessionId`; returns how many ended. */
  endAllForUser(userId: string, keepSessionId?: string): Promise<number>;
}

/** Counters for express-rate-limit windows. Same contract as its `Store`, on the injected clock. */
export interface RateLimitCounter {
  /** Adds one hit to `key` and returns the hits in the current window and when it resets. */
  increment(key: string, windowMs: number): Promise<{ totalHits: number; resetTime: Date }>;
  decrement(key: string): Promise<void>;
  resetKey(key: string): Promise<void>;
}

/**
 * The revocation check verifyToken runs on every request, once the access token's signature and
 * expiry have passed. It may answer from a local copy of the sessions ended recently instead of
 * asking storage, provided that copy is current: a token this server signed names a session that
 * existed, and it cannot outlive that session, so "not ended" is then "live".
 */
export interface RevocationCheck {
  /**
   * False when the session has ended. Rejects with AppError('unavailable') when it cannot tell:
   * it never answers true for an ended session.
   */
  isActive(sessionId: string): Promise<boolean>;
}

/** Every store the server uses. */
export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  rateLimits: RateLimitCounter;
  /** A faster revocation check than `sessions.isActive`, when the implementation has one. */
  revocations?: RevocationCheck;
  /** Resolves when the backing storage answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Drops expired entries so memory stays bounded by live data. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}
