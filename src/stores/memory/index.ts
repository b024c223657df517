// Builds the in-memory stores: the default when REDIS_URL is not set.
import type { Clock } from '../../lib/clock';
import type { Stores } from '../types';
import { MemoryRateLimitCounter } from './memory-rate-limits';
import { MemorySessionStore } from './memory-sessions';
import { MemoryUserStore } from './memory-users';

export { MemoryRateLimitCounter, MemorySessionStore, MemoryUserStore };

export function createMemoryStores(clock: Clock): Stores {
  const sessions = new MemorySessionStore(clock);
  const rateLimits = new MemoryRateLimitCounter(clock);
  return {
    users: new MemoryUserStore(),
    sessions,
    rateLimits,
    ping: async () => undefined,
    sweep: async () => {
      sessions.sweep();
      rateLimits.sweep();
    },
    close: async () => undefined,
  };
}
