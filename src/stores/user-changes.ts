// Rules every user store applies alike: which fields an update may touch, what a page may ask for.
import { AppError } from '../errors';
import type { UserChanges } from './types';

const CHANGEABLE = ['passwordHash', 'role', 'emailVerified', 'disabled', 'lastLoginAt'] as const;

/**
 * Only the changeable fields that are present: a caller passing a whole record (or a field as
 * undefined) must not rewrite the id, the email or createdAt, nor blank a field.
 */
export function pickUserChanges(changes: UserChanges): UserChanges {
  const picked: Record<string, unknown> = {};
  for (const field of CHANGEABLE) {
    if (changes[field] !== undefined) picked[field] = changes[field];
  }
  return picked as UserChanges;
}

/** The contract allows 1 to 1,000 users a page; anything else is a bug in the caller. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RangeError(`page limit ${limit} is not 1 to 1000`);
}

/** A cursor this store did not hand out: it arrives from a client, so it is the client's mistake. */
export function invalidCursor(): AppError {
  return new AppError('invalid_request', { description: 'The cursor is not valid.' });
}

/** Where a page in (createdAt, id) order starts: after this position, whether or not its user still exists. */
export interface UserPosition {
  createdAt: number;
  id: string;
}

/** The cursor of the memory and SQL stores: "<createdAt>.<id>" (ids are base64url, without dots). */
export function encodeUserCursor(user: UserPosition): string {
  return `${user.createdAt}.${user.id}`;
}

export function decodeUserCursor(cursor: string): UserPosition {
  const dot = cursor.indexOf('.');
  const createdAt = Number(cursor.slice(0, dot));
  if (dot < 1 || dot === cursor.length - 1 || !Number.isSafeInteger(createdAt)) throw invalidCursor();
  return { createdAt, id: cursor.slice(dot + 1) };
}
