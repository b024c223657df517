// Session records shaped as a login makes them, for the benches that fill a session store through its API.
import { randomId } from '../../src/lib/random-id';
import type { SessionRecord } from '../../src/stores/types';

export const REFRESH_TTL_MS = 7 * 24 * 3_600_000;
/** Each user holds this many sessions (a laptop and a phone). */
export const SESSIONS_PER_USER = 2;
/** What browsers send; a login copies whichever one its request carried. */
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
];

/**
 * A string as a request hands it over: its own copy, not a literal V8 shares between records.
 * Header values and socket addresses are new strings on every request.
 */
function fresh(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** The record SessionService.login builds at `now`, for the n-th session. */
export function sessionRecord(n: number, userIds: readonly string[], now: number): SessionRecord {
  const user = Math.floor(n / SESSIONS_PER_USER);
  return {
    id: randomId(),
    userId: userIds[user]!,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + REFRESH_TTL_MS,
    userAgent: fresh(USER_AGENTS[n % USER_AGENTS.length]!),
    ip: fresh(`198.51.${(user >> 8) & 255}.${user & 255}`),
    refreshJti: randomId(),
    refreshIat: Math.floor(now / 1000),
    previousJti: null,
    rotatedAt: now,
    refreshWindowStart: now,
    refreshCount: 0,
  };
}

/** User ids exist before their sessions (the user store holds them): not part of a session's cost. */
export function userIdsFor(sessions: number): string[] {
  return Array.from({ length: Math.ceil(sessions / SESSIONS_PER_USER) }, () => randomId());
}
