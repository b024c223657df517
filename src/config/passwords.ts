// The password hashing section: the bcrypt work factor and how many hashes run and wait at once, and for one address.
import { defaultHashConcurrency, type HashLimits } from '../auth/hash-gate';
import { DEFAULT_HASHING_NICE } from '../auth/hashing-threads';
import { integer, type Parsed } from './fields';

export interface PasswordConfig {
  readonly bcryptCost: number;
  /**
   * bcrypt jobs at once, how many may wait (more logins and registrations get 503) and how many of
   * those one client address may hold; and the nice value of the hashing threads (Linux; 0 keeps
   * the process's priority).
   */
  readonly passwordHashing: Required<HashLimits> & { readonly nice: number };
}

export const passwordVariables = {
  BCRYPT_COST: integer(12, 10, 15),
  PASSWORD_HASH_CONCURRENCY: integer(defaultHashConcurrency(), 1, 64),
  PASSWORD_HASH_QUEUE: integer(32, 0, 100_000),
  // An eighth of the default queue: a flood from one address leaves the other seven eighths to everyone else.
  PASSWORD_HASH_QUEUE_PER_ADDRESS: integer(4, 1, 100_000),
  PASSWORD_HASH_NICE: integer(DEFAULT_HASHING_NICE, 0, 19),
};

export function passwordSettings(e: Parsed<typeof passwordVariables>): PasswordConfig {
  return {
    bcryptCost: e.BCRYPT_COST,
    passwordHashing: {
      concurrency: e.PASSWORD_HASH_CONCURRENCY,
      queue: e.PASSWORD_HASH_QUEUE,
      queuePerAddress: e.PASSWORD_HASH_QUEUE_PER_ADDRESS,
      nice: e.PASSWORD_HASH_NICE,
    },
  };
}
