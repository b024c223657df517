// Turns records into the contract's JSON shapes: User, Session and TokenResponse.
import type { TokenGrant } from '../auth/session-service';
import type { AuditEventRecord, SessionRecord, UserRecord } from '../stores/types';
import type { AdminUserJson, AuditEventJson, SessionJson, TokenResponseJson, UserJson } from './response-schemas';

/** Tells whether a user has a confirmed second factor (MfaService.isEnabled). */
export interface MfaStatus {
  isEnabled(userId: string): Promise<boolean>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A user as clients see it: never the hash; `mfaEnabled` comes from the MfaStore, not the record. */
export function userJson(user: UserRecord, mfaEnabled: boolean) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    created_at: iso(user.createdAt),
    email_verified: user.emailVerified,
    mfa_enabled: mfaEnabled,
  } satisfies UserJson;
}

/** A user as admins see it: the User, whether it is disabled, and its last login. */
export function adminUserJson(user: UserRecord, mfaEnabled: boolean) {
  return {
    ...userJson(user, mfaEnabled),
    disabled: user.disabled,
    last_login_at: user.lastLoginAt === null ? null : iso(user.lastLoginAt),
  } satisfies AdminUserJson;
}

/** An audit event as admins read it: times in ISO 8601, ids and details as stored. */
export function auditEventJson(event: AuditEventRecord) {
  return {
    id: event.id,
    at: iso(event.at),
    type: event.type,
    user_id: event.userId,
    actor_id: event.actorId,
    ip: event.ip,
    user_agent: event.userAgent,
    details: { ...event.details },
  } satisfies AuditEventJson;
}

export function sessionJson(session: SessionRecord, currentSessionId: string) {
  return {
    id: session.id,
    created_at: iso(session.createdAt),
    last_used_at: iso(session.lastUsedAt),
    expires_at: iso(session.expiresAt),
    user_agent: session.userAgent,
    ip: session.ip,
    current: session.id === currentSessionId,
  } satisfies SessionJson;
}

/** The TokenResponse; `expires_in` and `refresh_expires_in` count from `nowSec`. */
export function tokenResponseJson(grant: TokenGrant, nowSec: number) {
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer' as const,
    expires_in: grant.accessExpiresAt - nowSec,
    expires_at: grant.accessExpiresAt,
    refresh_token: grant.refreshToken,
    refresh_expires_in: grant.refreshExpiresAt - nowSec,
    user: userJson(grant.user, grant.mfaEnabled),
  } satisfies TokenResponseJson;
}
