// SQL audit log: one row per event, paged newest first by id, swept by age (AUDIT_RETENTION).
import type { Selectable } from 'kysely';
import type { Clock } from '../../lib/clock';
import { AuditIds, auditIdRange, auditRecord, DEFAULT_AUDIT_RETENTION_MS, firstAuditIdAt } from '../audit-events';
import type { AuditEventRecord, AuditPage, AuditQuery, AuditStore, NewAuditEvent } from '../types';
import { guarded, type SqlDatabase } from './database';
import type { AuditEventsTable } from './schema';

/** Rows one sweep statement deletes: each statement stays well within the call deadline. */
const SWEEP_BATCH = 5_000;
/** Statements one sweep runs at most; a larger backlog goes on at the next sweep. */
const SWEEP_ROUNDS = 20;

/**
 * Keeps every event for `retentionMs` on the store's clock; sweep() deletes the older ones. Ids sort
 * by time, so the primary key alone serves the newest page, a time range and the sweep; a user's
 * or a type's events have an index of their own (see migration 0003).
 */
export class SqlAuditStore implements AuditStore {
  private readonly ids = new AuditIds();

  constructor(
    private readonly database: SqlDatabase,
    private readonly clock: Clock,
    private readonly retentionMs = DEFAULT_AUDIT_RETENTION_MS,
  ) {
    if (!Number.isSafeInteger(retentionMs) || retentionMs < 1) throw new RangeError(`audit retention ${retentionMs} is not a positive number of ms`);
  }

  async record(event: NewAuditEvent, at = this.clock.now()): Promise<AuditEventRecord> {
    const stored = auditRecord(this.ids.next(at), at, event);
    await guarded(() => this.database.db.insertInto('audit_events').values(toRow(stored)).execute());
    return stored;
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const { before, from, empty } = auditIdRange(query);
    if (empty) return { events: [], nextCursor: null };
    const { limit, userId, type } = query;
    const rows = await guarded(() =>
      this.database.db
        .selectFrom('audit_events')
        .selectAll()
        .$if(before !== null, (q) => q.where('id', '<', before!))
        .$if(from !== null, (q) => q.where('id', '>=', from!))
        .$if(userId !== undefined, (q) => q.where('user_id', '=', userId!))
        .$if(type !== undefined, (q) => q.where('type', '=', type!))
        .orderBy('id', 'desc')
        // One row more than the page holds tells whether a next page exists at all.
        .limit(limit + 1)
        .execute(),
    );
    const events = rows.slice(0, limit).map(fromRow);
    const last = events[events.length - 1];
    return { events, nextCursor: rows.length > limit && last ? last.id : null };
  }

  /**
   * Deletes the events recorded more than `retentionMs` ago, in batches: one statement deleting a
   * long backlog at once could outlast the call deadline, be cancelled and roll back every time.
   */
  async sweep(): Promise<void> {
    const below = firstAuditIdAt(this.clock.now() - this.retentionMs);
    const { db } = this.database;
    for (let round = 0; round < SWEEP_ROUNDS; round += 1) {
      const result = await guarded(() =>
        db
          .deleteFrom('audit_events')
          .where('id', 'in', db.selectFrom('audit_events').select('id').where('id', '<', below).orderBy('id').limit(SWEEP_BATCH))
          .executeTakeFirst(),
      );
      if (Number(result.numDeletedRows) < SWEEP_BATCH) return;
    }
  }
}

function toRow(event: AuditEventRecord): AuditEventsTable {
  return {
    id: event.id,
    at: event.at,
    type: event.type,
    user_id: event.userId,
    actor_id: event.actorId,
    ip: event.ip,
    user_agent: event.userAgent,
    details: JSON.stringify(event.details),
  };
}

function fromRow(row: Selectable<AuditEventsTable>): AuditEventRecord {
  return {
    id: row.id,
    at: row.at,
    type: row.type,
    userId: row.user_id,
    actorId: row.actor_id,
    ip: row.ip,
    userAgent: row.user_agent,
    details: JSON.parse(row.details) as AuditEventRecord['details'],
  };
}
