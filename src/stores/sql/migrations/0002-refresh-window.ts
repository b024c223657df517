// Each session counts its refreshes in a window of its own, for the per-session refresh limit.
import type { Kysely, Migration } from 'kysely';

/** Sessions opened before this migration start with an old, empty window: their next refresh opens a new one. */
export const refreshWindow: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('sessions')
      .addColumn('refresh_window_start', 'bigint', (col) => col.notNull().defaultTo(0))
      .addColumn('refresh_count', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();
  },

  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('sessions').dropColumn('refresh_count').dropColumn('refresh_window_start').execute();
  },
};
