// Brings DATABASE_SCHEMA up to date with Kysely's Migrator: in order, once, one instance at a time.
import { Migrator } from 'kysely';
import type { SqlDatabase } from './database';
import { MIGRATIONS } from './migrations';

export interface MigrationReport {
  /** Migrations this call ran, in order; empty when the schema was already up to date. */
  applied: string[];
}

/**
 * Runs every migration the schema lacks. Kysely's Migrator takes a PostgreSQL advisory lock for
 * the whole run and re-reads what has run once it holds it, so instances starting together apply
 * each migration once: the others wait, then find nothing left to do. The schema is created when
 * missing; the Migrator's bookkeeping tables live in it too, so two schemas never mix.
 */
export async function migrateToLatest(database: SqlDatabase): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableSchema: database.target.schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error');
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? '(before any migration ran)'} failed: ${why}`, { cause: error });
  }
  return { applied: results.filter((result) => result.status === 'Success').map((result) => result.migrationName) };
}
