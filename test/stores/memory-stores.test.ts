// The in-memory stores: the shared store contract, plus sweeping that really frees memory.
import { MemoryAuditStore, MemoryOneTimeTokenStore, MemoryRateLimitCounter, MemorySessionStore, createMemoryStores } from '../../src/stores/memory';
import { MEMORY_AUDIT_MAX_EVENTS } from '../../src/stores/memory/memory-audit';
import type { SessionRecord, Stores } from '../../src/stores/types';
import { FakeClock } from '../helpers/fake-clock';
import { runAuditContract } from './audit-store.contract';
import { runStoreContract, type ExpiringEntry } from './session-store.contract';

/** What the memory stores hold, looked up in their maps without the expiry check a read makes. */
async function holds(stores: Stores, entry: ExpiringEntry): Promise<boolean> {
  const { sessions, rateLimits, oneTimeTokens } = stores;
  if (
    !(sessions instanceof MemorySessionStore) ||
    !(rateLimits instanceof MemoryRateLimitCounter) ||
    !(oneTimeTokens instanceof MemoryOneTimeTokenStore)
  ) {
    throw new Error('createMemoryStores did not build the memory stores');
  }
  if (entry.kind === 'session') return sessions.holds(entry.id);
  if (entry.kind === 'rateLimit') return rateLimits.holds(entry.key);
  return oneTimeTokens.holds(entry.hash, entry.purpose);
}

runStoreContract('memory', (clock) => createMemoryStores(clock), { holds });

runAuditContract('memory', {
  open(clock, { maxEvents }) {
    const stores = createMemoryStores(clock, { auditMaxEvents: maxEvents });
    return { audit: stores.audit, sweep: () => stores.sweep(), close: () => stores.close() };
  },
  bound: { kind: 'count' },
});

describe('memory stores: the audit bound', () => {
  it(`keeps ${MEMORY_AUDIT_MAX_EVENTS} events by default, never more`, async () => {
    const stores = createMemoryStores(new FakeClock());
    if (!(stores.audit instanceof MemoryAuditStore)) throw new Error('createMemoryStores did not build the memory audit store');
    const event = { type: 'logout' as const, userId: null, actorId: null, ip: '127.0.0.1', userAgent: 'jest', details: {} };
    for (let i = 0; i < MEMORY_AUDIT_MAX_EVENTS; i += 1) await stores.audit.record(event);
    expect(stores.audit.size).toBe(MEMORY_AUDIT_MAX_EVENTS);
    const newest = await stores.audit.record(event);
    expect(stores.audit.size).toBe(MEMORY_AUDIT_MAX_EVENTS);
    await expect(stores.audit.list({ limit: 1 })).resolves.toMatchObject({ events: [newest] });
  });

  it.each([0, -1, 1.5])('refuses a bound of %p', (bound) => {
    expect(() => new MemoryAuditStore(new FakeClock(), bound)).toThrow(RangeError);
  });
});

describe('memory stores: sweeping', () => {
  const HOUR = 3_600_000;

  function session(clock: FakeClock, id: string, lifetimeMs: number): SessionRecord {
    const now = clock.now();
    return {
      id,
      userId: 'u1',
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + lifetimeMs,
      userAgent: 'jest',
      ip: '127.0.0.1',
      refreshJti: `${id}-jti`,
      refreshIat: Math.floor(now / 1000),
      previousJti: null,
      rotatedAt: now,
      refreshWindowStart: now,
      refreshCount: 0,
    };
  }

  function build() {
    const clock = new FakeClock();
    const stores = createMemoryStores(clock);
    if (
      !(stores.sessions instanceof MemorySessionStore) ||
      !(stores.rateLimits instanceof MemoryRateLimitCounter) ||
      !(stores.oneTimeTokens instanceof MemoryOneTimeTokenStore)
    ) {
      throw new Error('createMemoryStores did not build the memory stores');
    }
    return { clock, stores, sessions: stores.sessions, counters: stores.rateLimits, tokens: stores.oneTimeTokens };
  }

  it('drops expired sessions that nobody asked about again', async () => {
    const { clock, stores, sessions } = build();
    await sessions.create(session(clock, 's1', HOUR));
    await sessions.create(session(clock, 's2', HOUR));
    await sessions.create(session(clock, 's3', 2 * HOUR));
    expect(sessions.size).toBe(3);

    clock.advance(HOUR);
    expect(sessions.size).toBe(3);
    await stores.sweep();
    expect(sessions.size).toBe(1);
    await expect(sessions.isActive('s3')).resolves.toBe(true);
  });

  it('drops rate-limit windows that have ended', async () => {
    const { clock, stores, counters } = build();
    await counters.increment('short', HOUR);
    await counters.increment('long', 2 * HOUR);
    expect(counters.size).toBe(2);

    clock.advance(HOUR);
    await stores.sweep();
    expect(counters.size).toBe(1);
    await expect(counters.increment('long', 2 * HOUR)).resolves.toMatchObject({ totalHits: 2 });
  });

  it('drops expired one-time tokens, and holds nothing for one consumed or voided', async () => {
    const { clock, stores, tokens } = build();
    const token = (hash: string, userId: string, lifetimeMs: number) => ({
      hash,
      purpose: 'password_reset' as const,
      userId,
      createdAt: clock.now(),
      expiresAt: clock.now() + lifetimeMs,
    });
    await tokens.create(token('short', 'u1', HOUR));
    await tokens.create(token('long', 'u1', 2 * HOUR));
    await tokens.create(token('used', 'u2', 2 * HOUR));
    await tokens.create(token('voided', 'u3', 2 * HOUR));
    await tokens.consume('used', 'password_reset');
    await tokens.deleteForUser('u3', 'password_reset');
    expect(tokens.size).toBe(2);

    clock.advance(HOUR);
    await stores.sweep();
    expect(tokens.size).toBe(1);
    await expect(tokens.consume('long', 'password_reset')).resolves.toMatchObject({ hash: 'long' });
    expect(tokens.size).toBe(0);
  });

  it('holds nothing for a session once it has ended', async () => {
    const { clock, sessions } = build();
    await sessions.create(session(clock, 's1', HOUR));
    await sessions.create(session(clock, 's2', HOUR));
    await sessions.end('s1');
    await sessions.endAllForUser('u1');
    expect(sessions.size).toBe(0);
  });
});
