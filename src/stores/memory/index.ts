// Builds the in-memory stores: the default when REDIS_URL is not set.
import type { Clock } from '../../lib/clock';
import type { Stores } from '../types';
import { MemoryAuditStore } from './memory-audit';
import { MemoryMfaStore } from './memory-mfa';
import { MemoryOneTimeTokenStore } from './memory-one-time-tokens';
import { MemoryRateLimitCounter } from './memory-rate-limits';
import { MemorySessionStore } from './memory-sessions';
import { MemoryUserStore } from './memory-users';

export { MemoryAuditStore, MemoryMfaStore, MemoryOneTimeTokenStore, MemoryRateLimitCounter, MemorySessionStore, MemoryUserStore };

export interface MemoryStoresOptions {
  /** How many audit events to keep (the newest); MEMORY_AUDIT_MAX_EVENTS by default. */
  auditMaxEvents?: number;
}

export function createMemoryStores(clock: Clock, options: MemoryStoresOptions = {}): Stores {
  const sessions = new MemorySessionStore(clock);
  const rateLimits = new MemoryRateLimitCounter(clock);
  const oneTimeTokens = new MemoryOneTimeTokenStore(clock);
  return {
    users: new MemoryUserStore(),
    sessions,
    rateLimits,
    oneTimeTokens,
    mfa: new MemoryMfaStore(),
    audit: new MemoryAuditStore(clock, options.auditMaxEvents),
    ping: async () => undefined,
    sweep: async () => {
      sessions.sweep();
      rateLimits.sweep();
      oneTimeTokens.sweep();
    },
    close: async () => undefined,
  };
}
