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
  readonly emailVerified: boolean;
  /** A disabled account cannot sign in; disabling also ends its sessions (a service's job). */
  readonly disabled: boolean;
  readonly lastLoginAt: number | null;
}

/** The fields of a user that may change after registration. */
export type UserChanges = Partial<Pick<UserRecord, 'passwordHash' | 'role' | 'emailVerified' | 'disabled' | 'lastLoginAt'>>;

/** One page of users, oldest first; `nextCursor` is null on the last page. */
export interface UserPage {
  users: UserRecord[];
  nextCursor: string | null;
}

export interface UserPageQuery {
  /** 1 to 1,000 users. */
  limit: number;
  /** A `nextCursor` from an earlier page of this store; null or absent: the first page. */
  cursor?: string | null;
  /** Only users whose email contains this text (already lower-cased). */
  emailContains?: string;
}

export interface UserStore {
  /**
   * Adds the user unless the email is already registered.
   * Atomic: of two concurrent creates with one email exactly one returns 'created'.
   */
  create(user: UserRecord): Promise<'created' | 'email_taken'>;
  /** The user with this (already normalised) email, or null. */
  findByEmail(email: string): Promise<UserRecord | null>;
  /**
   * The user with this id, or null. Once update() or delete() has resolved, this instance never
   * answers with the record as it was before; other instances sharing the storage stop doing so
   * as soon as they hear of the change (milliseconds), and an instance that cannot hear of
   * changes does not trust any copy it keeps.
   */
  findById(id: string): Promise<UserRecord | null>;
  /**
   * Applies `changes` in one atomic step and returns the record as it now is, or null when no
   * such user exists. Fields not named keep their value; two concurrent updates of different
   * fields both take effect. With `ifPasswordHash`, the step changes nothing and returns null
   * unless the stored hash is that one: a password change checked against the old password loses
   * to a reset that landed while it was hashing.
   */
  update(id: string, changes: UserChanges, ifPasswordHash?: string): Promise<UserRecord | null>;
  /** Deletes the user and frees its email; true if it existed. Its sessions, tokens and factors are the caller's to end. */
  delete(id: string): Promise<boolean>;
  /**
   * A page of users in creation order (createdAt, then id). Paging with the returned cursors
   * visits every user that existed throughout exactly once, even while others are added or deleted.
   */
  listPage(query: UserPageQuery): Promise<UserPage>;
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
  /** Start of the session's current refresh-limit window (ms); see RotationPolicy.refreshLimit. */
  refreshWindowStart: number;
  /** Rotations since `refreshWindowStart` (grace answers mint no token and are not counted). */
  refreshCount: number;
}

/** How rotate() treats a presented refresh token beyond matching its `jti`. */
export interface RotationPolicy {
  /** How long after a rotation the token just rotated out still returns its successor. */
  graceMs: number;
  /**
   * At most `max` rotations of one session in each fixed window of `windowMs` (grace answers are
   * neither counted nor refused): the first window
   * opens at login, each later one at the first refresh after the one before has passed; absent,
   * no limit.
   */
  refreshLimit?: { max: number; windowMs: number };
  /** A session whose `lastUsedAt` is this long ago ends when a token of it is presented; absent, never. */
  idleTimeoutMs?: number;
}

/** What presenting a refresh token did to its session. */
export type RotationOutcome =
  /** The token was current: the session now expects `next`. */
  | { kind: 'rotated'; session: SessionRecord }
  /** The token was rotated out moments ago: its successor (still current) stands. */
  | { kind: 'grace'; session: SessionRecord }
  /** The token was rotated out before: replay. The session has been ended. */
  | { kind: 'reused'; session: SessionRecord }
  /** The session has used up its refreshes for this window; nothing changed. */
  | { kind: 'rate_limited'; session: SessionRecord; retryAfterMs: number }
  /** The session was idle longer than the policy allows: it has been ended, whatever the token. */
  | { kind: 'idle'; session: SessionRecord }
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
   * 'grace' within `policy.graceMs` of that rotation, or 'reused' after it (which ends the
   * session). Any other `jti` of a live session is 'reused' too: only this server can sign one,
   * so it is an older token of the chain. The same step ends an idle session ('idle') and
   * refuses a refresh beyond the session's limit ('rate_limited'); decideRotation() in
   * rotation.ts is the rule every store follows.
   */
  rotate(
    sessionId: string,
    presentedJti: string,
    next: { jti: string; iat: number },
    policy: RotationPolicy,
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

/** What a one-time token proves; each purpose is its own namespace. */
export type OneTimeTokenPurpose = 'password_reset' | 'email_verification' | 'mfa_challenge';

/**
 * A single-use token sent to a user (a reset or verification link). Only its SHA-256 hash is
 * stored: a leaked store does not hand out usable links.
 */
export interface OneTimeTokenRecord {
  /** SHA-256 of the token, base64url. */
  readonly hash: string;
  readonly purpose: OneTimeTokenPurpose;
  readonly userId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface OneTimeTokenStore {
  create(token: OneTimeTokenRecord): Promise<void>;
  /**
   * Takes the token out of the store and returns it, in one atomic step: of N concurrent calls
   * with one hash exactly one gets the record. Null when unknown, already used, of another
   * purpose (which leaves it in place), or expired on the clock (`now >= expiresAt`).
   */
  consume(hash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord | null>;
  /** Voids every outstanding token of the user for the purpose; returns how many were voided. */
  deleteForUser(userId: string, purpose: OneTimeTokenPurpose): Promise<number>;
}

/**
 * A user's TOTP factor. The secret arrives encrypted (AES-256-GCM, by the caller): the store
 * never sees it in clear. Recovery codes are kept as SHA-256 hashes.
 */
export interface MfaFactorRecord {
  readonly userId: string;
  readonly secretCiphertext: string;
  /** False while enrolment waits for its first code; only a confirmed factor guards sign-in. */
  readonly confirmed: boolean;
  readonly createdAt: number;
  /** The last TOTP time step accepted, so that no code is accepted twice; null before the first. */
  readonly lastUsedStep: number | null;
  readonly recoveryCodeHashes: readonly string[];
}

export interface MfaStore {
  /** The user's factor, pending or confirmed, or null. */
  get(userId: string): Promise<MfaFactorRecord | null>;
  /**
   * Stores a pending factor in place of any pending one. Atomic: refused with 'already_enabled',
   * changing nothing, when the user has a confirmed factor.
   */
  putPending(factor: MfaFactorRecord): Promise<'stored' | 'already_enabled'>;
  /**
   * Confirms the pending factor whose secret is `secretCiphertext`, with its recovery code hashes
   * and the step its first code used. False, changing nothing, when that factor is not pending
   * (confirmed already, replaced by a newer enrolment, or removed).
   */
  confirm(userId: string, secretCiphertext: string, recoveryCodeHashes: readonly string[], step: number): Promise<boolean>;
  /**
   * Records `step` as used when it is later than the last used step of the confirmed factor, in
   * one atomic step: of N concurrent calls with one step exactly one gets true.
   */
  useStep(userId: string, step: number): Promise<boolean>;
  /** Removes one recovery code of the confirmed factor: true once per code, atomically. */
  useRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
  /** Removes the user's factor, pending or confirmed; true if there was one. */
  delete(userId: string): Promise<boolean>;
}

/** Every store the server uses. */
export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  rateLimits: RateLimitCounter;
  oneTimeTokens: OneTimeTokenStore;
  mfa: MfaStore;
  audit: AuditStore;
  /** A faster revocation check than `sessions.isActive`, when the implementation has one. */
  revocations?: RevocationCheck;
  /** Resolves when the backing storage answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Drops expired entries (sessions, counters, one-time tokens) so storage stays bounded by live data. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** What an audit event records; the contract's closed list (shared/API.md, "Administration, audit, metrics"). */
export type AuditEventType =
  | 'user.registered'
  | 'user.created'
  | 'user.updated'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.rate_limited'
  | 'refresh.reuse_detected'
  | 'logout'
  | 'session.ended'
  | 'password.changed'
  | 'password.reset_requested'
  | 'password.reset'
  | 'email.verified'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.failed';

/** A detail of an audit event: only values every store keeps exactly (JSON scalars). */
export type AuditDetailValue = string | number | boolean | null;

/**
 * One thing that happened, as the audit log keeps it. Never a password, token, hash or code: the
 * store keeps what it is given, so keeping them out is the recorder's job.
 */
export interface AuditEventRecord {
  /**
   * Assigned by the store: 26 characters of Crockford base32, the first 10 encoding `at` and the
   * other 16 random (ULID layout), so that ids sort as the events happened. Within one store
   * instance, events of the same millisecond get increasing ids in the order they were recorded.
   */
  readonly id: string;
  /** When it was recorded: the store's clock (ms since the epoch). */
  readonly at: number;
  readonly type: AuditEventType;
  /** The user the event is about; null when there is none (a failed login for an unknown email). */
  readonly userId: string | null;
  /** Who did it: the admin for admin actions, else the user; null when nobody signed in did it. */
  readonly actorId: string | null;
  readonly ip: string;
  readonly userAgent: string;
  readonly details: Readonly<Record<string, AuditDetailValue>>;
}

/**
 * What a recorder hands to AuditStore.record(): the store stamps the id and the time. Only these
 * fields are kept (other properties are ignored), and of `details` only the string, finite number,
 * boolean and null values. Strings are kept as well-formed Unicode without NUL (a lone surrogate
 * or a NUL becomes U+FFFD); `ip`, `userAgent` and each detail key and string are cut to
 * AUDIT_TEXT_LIMIT characters (audit-events.ts), so that a store bounded in events is bounded in
 * bytes too, whatever a client sends.
 */
export type NewAuditEvent = Omit<AuditEventRecord, 'id' | 'at'>;

/** Which events a page holds; every filter given must match. */
export interface AuditQuery {
  /** 1 to 200 events; anything else is a bug in the caller (RangeError). */
  limit: number;
  /** A `nextCursor` from an earlier page of this store; null or absent: the newest page. */
  cursor?: string | null;
  userId?: string;
  type?: AuditEventType;
  /** Only events at or after this time (ms, inclusive; a whole number). */
  since?: number;
  /** Only events before this time (ms, exclusive; a whole number). */
  until?: number;
}

/** One page of events, newest first; `nextCursor` is null on the last page. */
export interface AuditPage {
  events: AuditEventRecord[];
  nextCursor: string | null;
}

/**
 * The audit log. What it keeps is bounded: the newest events up to a count (memory, Redis), or the
 * events of the retention period (a database, dropped by sweep()).
 */
export interface AuditStore {
  /**
   * Stamps the event with `at` (when it happened, by default now on the store's clock: a recorder
   * that writes after the fact passes the time of the fact) and a new id, keeps it (see NewAuditEvent for what is
   * kept), and resolves with the record as stored. A store bounded by count drops its oldest
   * events beyond the bound in the same atomic step, so it never holds more. A type the contract
   * does not name is a bug in the recorder: RangeError, nothing kept.
   */
  record(event: NewAuditEvent, at?: number): Promise<AuditEventRecord>;
  /**
   * A page of the events that match, newest first (by id, which sorts by `at`). Paging with the
   * returned cursors visits every matching event that existed throughout exactly once, even while
   * others are recorded or dropped; an event recorded during the walk may or may not appear. The
   * cursor is the id of the page's last event (a place in the log, whatever the filters); one that
   * is not an id rejects with AppError('invalid_request'); a limit outside 1 to 200, or a
   * `since`/`until` that is not a whole number, with a RangeError.
   */
  list(query: AuditQuery): Promise<AuditPage>;
  /** Drops the events older than the retention period on the store's clock; absent when the store is bounded by count instead. */
  sweep?(): Promise<void>;
}
