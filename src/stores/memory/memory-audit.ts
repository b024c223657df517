// In-memory audit log: the newest events up to a bound, in id order, stamped on the injected clock.
import type { Clock } from '../../lib/clock';
import { AuditIds, auditIdRange, auditMatches, auditRecord, copyAuditRecord } from '../audit-events';
import type { AuditEventRecord, AuditPage, AuditQuery, AuditStore, NewAuditEvent } from '../types';

/** Events kept by default: enough for a day of a small server, a few megabytes at most. */
export const MEMORY_AUDIT_MAX_EVENTS = 10_000;

/**
 * Keeps the newest `maxEvents` events (by id, which sorts by time) and drops the oldest as new ones
 * arrive. No sweep: the bound, not an age, limits what it holds.
 */
export class MemoryAuditStore implements AuditStore {
  /** Every event kept, oldest first (ascending id). */
  private readonly events: AuditEventRecord[] = [];
  private readonly ids = new AuditIds();

  constructor(
    private readonly clock: Clock,
    private readonly maxEvents = MEMORY_AUDIT_MAX_EVENTS,
  ) {
    if (!Number.isInteger(maxEvents) || maxEvents < 1) throw new RangeError(`audit bound ${maxEvents} is not a positive whole number`);
  }

  async record(event: NewAuditEvent, at = this.clock.now()): Promise<AuditEventRecord> {
    const stored = auditRecord(this.ids.next(at), at, event);
    // Ids grow with the clock, so this is an append unless the clock stepped back.
    this.events.splice(this.indexAtOrAfter(stored.id), 0, stored);
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
    return copyAuditRecord(stored);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const { before, from, empty } = auditIdRange(query);
    const events: AuditEventRecord[] = [];
    if (empty) return { events, nextCursor: null };
    const start = before === null ? this.events.length : this.indexAtOrAfter(before);
    for (let i = start - 1; i >= 0; i -= 1) {
      const event = this.events[i]!;
      if (from !== null && event.id < from) break;
      if (!auditMatches(event, query)) continue;
      // One match more than the page holds tells whether a next page exists at all.
      if (events.length === query.limit) return { events, nextCursor: events[events.length - 1]!.id };
      events.push(copyAuditRecord(event));
    }
    return { events, nextCursor: null };
  }

  /** Events held (for tests of the bound). */
  get size(): number {
    return this.events.length;
  }

  /** The index of the first event whose id is not below `id` (binary search). */
  private indexAtOrAfter(id: string): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.events[middle]!.id < id) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
