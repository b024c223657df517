// The audit log: one row per event, read newest first by id, by user and by type; old rows are swept by age.
import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The id sorts by time (see AuditIds), so the primary key serves newest-first paging, time ranges
 * and the sweep by age alike. It is compared byte by byte (collation "C"): the order then never
 * depends on the database's locale, and the index matches the comparisons the store makes.
 * `details` is JSON kept as text, not jsonb: jsonb refuses a \u0000 escape, and a detail may quote
 * what a client sent.
 */
export const audit: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_events')
      .addColumn('id', sql`text collate "C"`, (col) => col.primaryKey())
      .addColumn('at', 'bigint', (col) => col.notNull())
      .addColumn('type', 'text', (col) => col.notNull())
      .addColumn('user_id', 'text')
      .addColumn('actor_id', 'text')
      .addColumn('ip', 'text', (col) => col.notNull())
      .addColumn('user_agent', 'text', (col) => col.notNull())
      .addColumn('details', 'text', (col) => col.notNull())
      .execute();
    // A user's events and the events of one type, each newest first from a cursor.
    await db.schema.createIndex('audit_events_user_id').on('audit_events').columns(['user_id', 'id']).execute();
    await db.schema.createIndex('audit_events_type_id').on('audit_events').columns(['type', 'id']).execute();
  },

  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('audit_events').execute();
  },
};
