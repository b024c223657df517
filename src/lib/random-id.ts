// Unguessable identifiers for users, sessions and token ids.
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
/** Random bytes for 256 ids, drawn from the CSPRNG at once: one call per id cost more than the rest of a refresh's ids and signatures. */
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

/** 128 random bits as 22 base64url characters (a flat string, cheaper to keep than a UUID rope). */
export function randomId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  // Each byte serves once: the used ones are wiped, so the pool never holds an id already given out.
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
