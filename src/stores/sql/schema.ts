// The tables of the SQL stores as Kysely sees them: column names and the JavaScript types read back.
import type { ColumnType } from 'kysely';
import type { AuditEventType } from '../types';

/** Milliseconds since the epoch on the injected clock, kept as bigint and read back as numbers. */
type Millis = number;

export interface UsersTable {
  id: string;
  email: string;
  role: 'user' | 'admin';
  password_hash: string;
  created_at: Millis;
  email_verified: boolean;
  disabled: boolean;
  last_login_at: Millis | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Millis;
  last_used_at: Millis;
  expires_at: Millis;
  user_agent: string;
  ip: string;
  refresh_jti: string;
  refresh_iat: number;
  previous_jti: string | null;
  rotated_at: Millis;
  refresh_window_start: Millis;
  refresh_count: number;
}

/** Sessions ended lately, kept until their last access token has surely expired (see change-feed.ts). */
export interface RevokedSessionsTable {
  session_id: string;
  revoked_until: Millis;
}

export interface RateLimitsTable {
  key: string;
  hits: number;
  reset_at: Millis;
}

export interface OneTimeTokensTable {
  hash: string;
  purpose: 'password_reset' | 'email_verification' | 'mfa_challenge';
  user_id: string;
  created_at: Millis;
  expires_at: Millis;
}

export interface MfaFactorsTable {
  user_id: string;
  secret_ciphertext: string;
  confirmed: boolean;
  created_at: Millis;
  last_used_step: number | null;
  recovery_code_hashes: ColumnType<string[], string[], string[]>;
}

/** The audit log (see sql-audit.ts): `details` is the JSON text of the event's details. */
export interface AuditEventsTable {
  id: string;
  at: Millis;
  type: AuditEventType;
  user_id: string | null;
  actor_id: string | null;
  ip: string;
  user_agent: string;
  details: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  revoked_sessions: RevokedSessionsTable;
  rate_limits: RateLimitsTable;
  one_time_tokens: OneTimeTokensTable;
  mfa_factors: MfaFactorsTable;
  audit_events: AuditEventsTable;
}
