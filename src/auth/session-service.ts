// Sessions: login, refresh-token rotation with reuse detection, logout, and ending sessions.
import type { Config } from '../config';
import { AppError } from '../errors';
import { epochSeconds, type Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import { randomId } from '../lib/random-id';
import { rateLimitHeaders, type RateLimitState } from '../lib/rate-limit-headers';
import { isIdle } from '../stores/rotation';
import type { RotationPolicy, SessionRecord, SessionStore, UserRecord, UserStore } from '../stores/types';
import type { PasswordHasher } from './passwords';
import { PASSWORD_ONLY, type AccessClaims, type AuthMethods, type TokenService } from './tokens';

/** Everything a successful login or refresh hands to the client. */
export interface TokenGrant {
  accessToken: string;
  /** Access token `exp`, seconds. */
  accessExpiresAt: number;
  refreshToken: string;
  /** Absolute end of the session, seconds. */
  refreshExpiresAt: number;
  /** The session the tokens belong to (their `sid`). */
  sessionId: string;
  user: UserRecord;
  /** Whether the user has a confirmed second factor (the User JSON's `mfa_enabled`). */
  mfaEnabled: boolean;
}

/** A right password of an account with a second factor: no session yet, a token for POST /login/mfa. */
export interface MfaChallenge {
  mfaToken: string;
  /** Seconds the mfa_token lasts. */
  expiresIn: number;
}

/** What asks for the second factor at sign-in (MfaService). */
export interface SecondFactorGate {
  /** A challenge when the user has a confirmed factor, else null. */
  challenge(user: UserRecord): Promise<MfaChallenge | null>;
  /** For display: whether the user has a confirmed factor (may trail another instance's change by seconds). */
  isEnabled(userId: string): Promise<boolean>;
}

/** A refresh's grant, with what the session has left of its refresh limit. */
export interface RefreshGrant extends TokenGrant {
  refreshAllowance: RateLimitState;
}

export type LogoutScope = 'local' | 'others' | 'global';

/** Where a login comes from, shown to the user in their session list. */
export interface ClientInfo {
  userAgent: string;
  ip: string;
}

export class SessionService {
  constructor(
    private readonly deps: {
      users: UserStore;
      sessions: SessionStore;
      tokens: TokenService;
      hasher: PasswordHasher;
      clock: Clock;
      logger: Logger;
      jwt: Config['jwt'];
      limits: Config['sessions'];
      /** Unverified accounts cannot log in (REQUIRE_EMAIL_VERIFICATION). */
      requireEmailVerification?: boolean;
      /** Asks for the second factor after the right password; absent, no account has one. */
      secondFactor?: SecondFactorGate;
      /** Told after a replayed refresh token ended a session (the owner gets a mail); never awaited. */
      onReuse?: (session: SessionRecord, replayedFrom: ClientInfo | null) => void;
    },
  ) {
    const { jwt, limits } = deps;
    this.policy = {
      graceMs: jwt.reuseGraceMs,
      refreshLimit: limits.refreshLimit,
      ...(limits.idleTimeoutMs === null ? {} : { idleTimeoutMs: limits.idleTimeoutMs }),
    };
  }

  /** What every rotation is held to: the grace window, the per-session limit, the idle timeout. */
  private readonly policy: RotationPolicy;

  /**
   * Checks the password and opens a session, or, for an account with a second factor, returns
   * the challenge to answer at POST /login/mfa. Unknown email and wrong password fail alike.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<TokenGrant | MfaChallenge> {
    const { users, hasher } = this.deps;
    const user = await users.findByEmail(email);
    // The client's address takes its turn in the hashing queue: a flood from one address waits behind its own.
    const matches = await hasher.verify(password, user?.passwordHash ?? null, client.ip);
    if (!user || !matches) {
      this.deps.logger.info({ userId: user?.id ?? null }, 'login failed');
      throw new AppError('invalid_credentials');
    }
    // Only after the right password: a disabled account or an unverified address tells nothing to whoever lacks it.
    if (user.disabled) throw new AppError('account_disabled');
    if (this.deps.requireEmailVerification && !user.emailVerified) throw new AppError('email_not_verified');
    // Asked only after the right password: a wrong one answers the same for every account.
    const challenge = await this.deps.secondFactor?.challenge(user);
    if (challenge) return challenge;
    return this.openSession(user, client);
  }

  /**
   * Opens a session for a user whose identity is already proven (a login, a password change, a
   * second factor); `amr` says how (RFC 8176) and stays with the session through every refresh.
   */
  async openSession(user: UserRecord, client: ClientInfo, amr: AuthMethods = PASSWORD_ONLY): Promise<TokenGrant> {
    const { sessions, clock, jwt } = this.deps;
    const now = clock.now();
    const session: SessionRecord = {
      id: randomId(),
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + jwt.refreshTtlSec * 1000,
      userAgent: client.userAgent,
      ip: client.ip,
      refreshJti: randomId(),
      refreshIat: epochSeconds(clock),
      previousJti: null,
      rotatedAt: now,
      refreshWindowStart: now,
      refreshCount: 0,
    };
    await sessions.create(session);
    // A reset, change, deletion or disabling may have landed while the password was being checked
    // (a bcrypt time): it ended the sessions it saw, not this one. So the login is recorded only
    // now that the session exists, and only over the hash that was checked: whichever came second
    // ends the session.
    const current = await this.deps.users.update(user.id, { lastLoginAt: now }, user.passwordHash);
    if (!current || current.disabled) {
      await sessions.end(session.id);
      this.deps.logger.info({ userId: user.id }, 'login refused: the account changed while the password was checked');
      throw new AppError(current ? 'account_disabled' : 'invalid_credentials');
    }
    this.deps.logger.info({ userId: user.id, sessionId: session.id, amr }, 'login');
    return this.grant(current, session, amr);
  }

  /**
   * Exchanges a refresh token for a new pair; a replayed token ends its session, and so does one
   * presented after the session sat idle too long. Each session may refresh `limits.refreshLimit`
   * times per window: the grant says how many are left.
   */
  async refresh(refreshToken: string, client: ClientInfo | null = null): Promise<RefreshGrant> {
    const { sessions, users, clock, logger } = this.deps;
    const claims = this.deps.tokens.verifyRefresh(refreshToken);
    const next = { jti: randomId(), iat: epochSeconds(clock) };
    const outcome = await sessions.rotate(claims.sessionId, claims.tokenId, next, this.policy);

    switch (outcome.kind) {
      case 'no_session':
        throw new AppError('invalid_grant', { description: 'The session has ended; log in again.' });
      case 'reused':
        logger.warn({ sessionId: outcome.session.id, userId: outcome.session.userId }, 'refresh token reuse detected; session ended');
        this.deps.onReuse?.(outcome.session, client);
        throw new AppError('invalid_grant', { description: 'The refresh token was already used; the session has ended.' });
      case 'idle':
        logger.info({ sessionId: outcome.session.id, userId: outcome.session.userId }, 'session ended after inactivity');
        throw new AppError('invalid_grant', { description: 'The session has ended after a period of inactivity; log in again.' });
      case 'rate_limited': {
        const retryAfterSec = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
        throw new AppError('rate_limited', {
          description: 'This session has refreshed too often; try again later.',
          headers: { ...rateLimitHeaders(this.refreshAllowance(outcome.session)), 'Retry-After': String(retryAfterSec) },
        });
      }
    }
    const user = await users.findById(outcome.session.userId);
    // A disabled account's sessions were ended; one that rotated while it was being disabled ends here.
    if (!user || user.id !== claims.userId || user.disabled) {
      await sessions.end(outcome.session.id);
      throw new AppError('invalid_grant', { description: 'The session has ended; log in again.' });
    }
    return { ...(await this.grant(user, outcome.session, claims.amr)), refreshAllowance: this.refreshAllowance(outcome.session) };
  }

  /**
   * Ends the session the credentials belong to ('local'), the user's other sessions ('others')
   * or all of them ('global'), and returns the session the credentials named. Idempotent:
   * credentials of an ended session change nothing (null).
   */
  async logout(input: { refreshToken?: string; access?: AccessClaims; scope: LogoutScope; client?: ClientInfo }): Promise<SessionRecord | null> {
    const { sessions } = this.deps;
    // A genuine but expired refresh token belongs to a session that has ended by now.
    const refresh = input.refreshToken
      ? this.deps.tokens.verifyRefresh(input.refreshToken, { allowExpired: true })
      : undefined;
    if (refresh && input.access && refresh.sessionId !== input.access.sessionId) {
      throw new AppError('invalid_request', {
        description: 'The refresh token and the access token belong to different sessions.',
      });
    }
    const sessionId = refresh?.sessionId ?? input.access?.sessionId;
    if (!sessionId) throw new AppError('unauthorized');

    const session = await sessions.get(sessionId);
    // Only a live session may end others: an old token must not log a user out everywhere.
    if (!session) return null;
    if (refresh && !this.isCurrentRefresh(session, refresh.tokenId)) {
      // A rotated-out refresh token is a replay, as on /refresh: end its session, nothing more.
      await sessions.end(session.id);
      this.deps.logger.warn({ sessionId: session.id, userId: session.userId }, 'refresh token reuse detected at logout; session ended');
      this.deps.onReuse?.(session, input.client ?? null);
      return null;
    }
    this.deps.logger.info({ userId: session.userId, sessionId: session.id, scope: input.scope }, 'logout');
    if (input.scope === 'local') await sessions.end(session.id);
    else if (input.scope === 'others') await sessions.endAllForUser(session.userId, session.id);
    else await sessions.endAllForUser(session.userId);
    return session;
  }

  /** The user's live sessions, oldest first; one idle past the timeout has ended, though its record waits for its next refresh. */
  async list(userId: string): Promise<SessionRecord[]> {
    const all = await this.deps.sessions.listByUser(userId);
    const now = this.deps.clock.now();
    return all.filter((session) => !isIdle(session, this.policy, now));
  }

  /** Ends one of the user's sessions; another user's session is reported as not found. */
  async end(userId: string, sessionId: string): Promise<void> {
    const session = await this.deps.sessions.get(sessionId);
    if (!session || session.userId !== userId) throw new AppError('not_found', { description: 'No such session.' });
    await this.deps.sessions.end(sessionId);
  }

  /** The session's current refresh token, or the one just rotated out while its grace lasts. */
  private isCurrentRefresh(session: SessionRecord, tokenId: string): boolean {
    if (tokenId === session.refreshJti) return true;
    const inGrace = this.deps.clock.now() - session.rotatedAt < this.deps.jwt.reuseGraceMs;
    return tokenId === session.previousJti && inGrace;
  }

  /** What is left of the session's refresh limit in its current window. */
  private refreshAllowance(session: SessionRecord): RateLimitState {
    const { max, windowMs } = this.deps.limits.refreshLimit;
    const resetMs = Math.max(0, session.refreshWindowStart + windowMs - this.deps.clock.now());
    return { policy: 'session', max, windowMs, remaining: Math.max(0, max - session.refreshCount), resetMs };
  }

  private async grant(user: UserRecord, session: SessionRecord, amr: AuthMethods): Promise<TokenGrant> {
    const { tokens } = this.deps;
    const sessionExpiresAtSec = Math.floor(session.expiresAt / 1000);
    const access = tokens.signAccess({
      userId: user.id,
      sessionId: session.id,
      tokenId: randomId(),
      role: user.role,
      amr,
      sessionExpiresAtSec,
    });
    const refreshToken = tokens.signRefresh({
      userId: user.id,
      sessionId: session.id,
      tokenId: session.refreshJti,
      issuedAt: session.refreshIat,
      expiresAtSec: sessionExpiresAtSec,
      amr,
    });
    return {
      accessToken: access.token,
      accessExpiresAt: access.expiresAt,
      refreshToken,
      refreshExpiresAt: sessionExpiresAtSec,
      sessionId: session.id,
      user,
      // A session that passed a second factor has one; otherwise ask (a cached answer, see MfaService).
      mfaEnabled: amr.includes('otp') || ((await this.deps.secondFactor?.isEnabled(user.id)) ?? false),
    };
  }
}
