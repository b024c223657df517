// Store records as the tests build them: random ids and emails, so that tests on shared storage never meet.
import { randomId } from '../../src/lib/random-id';
import type { SessionRecord, UserRecord } from '../../src/stores/types';

const DAY = 24 * 3_600_000;
/** A well-formed bcrypt hash of nothing in particular: stores keep it as given. */
export const SOME_HASH = '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234';

/** A new user created at `createdAt`, verified, enabled and never logged in unless overridden. */
export function userRecord(createdAt: number, overrides: Partial<UserRecord> = {}): UserRecord {
  const id = randomId();
  return {
    id,
    email: `${id.toLowerCase()}@example.com`,
    role: 'user',
    passwordHash: SOME_HASH,
    createdAt,
    emailVerified: false,
    disabled: false,
    lastLoginAt: null,
    ...overrides,
  };
}

/** A session begun at `now`, lasting a day, with its first refresh token, unless overridden. */
export function sessionRecord(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomId(),
    userId: randomId(),
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + DAY,
    userAgent: 'store-test',
    ip: '127.0.0.1',
    refreshJti: randomId(),
    refreshIat: Math.floor(now / 1000),
    previousJti: null,
    rotatedAt: now,
    refreshWindowStart: now,
    refreshCount: 0,
    ...overrides,
  };
}
