// Unguessable identifiers for users, sessions and token ids.
import { randomBytes } from 'node:crypto';

/** 128 random bits as 22 base64url characters (a flat string, cheaper to keep than a UUID rope). */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}
