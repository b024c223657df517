// Builds the in-memory stores: the default when REDIS_URL is not set.
import type { Clock } from '../../lib/clock';
import type { Stores } from '../types';
import { MemoryMfaStore } from './memory-mfa';
import { MemoryOneTimeTokenStore } from './memory-one-time-tokens';
import { MemoryRateLimitCounter } from './memory-rate-limits';
import { MemorySessionStore } from './memory-sessions';
import { MemoryUserStore } from './memory-users';

export { MemoryMfaStore, MemoryOneTimeTokenStore, MemoryRateLimitCounter, MemorySessionStore, MemoryUserStore };

export function createMemoryStores(clock: Clock): Stores {
  const sessions = new MemorySessionStore(clock);
  const rateLimits = new MemoryRateLimitCounter(clock);
  const oneTimeTokens = new MemoryOneTimeTokenStore(clock);
  return {
    users: new MemoryUserStore(),
    sessions,
    rateLimits,
    oneTimeTokens,
    mfa: new MemoryMfaStore(),
    ping: async () => undefined,
    sweep: async () => {
      sessions.sweep();
      rateLimits.sweep();
      oneTimeTokens.sweep();
    },
    close: async () => undefined,
  };
}
