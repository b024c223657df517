// npm run migrate: brings the database of DATABASE_URL up to date and exits; the server also does this at start-up.
import dotenv from 'dotenv';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../stores/sql/database';
import { migrateToLatest } from '../stores/sql/migrate';

async function main(): Promise<number> {
  dotenv.config({ quiet: true });
  let database;
  try {
    database = loadConfig(process.env).config.database;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (!database) {
    process.stderr.write('DATABASE_URL is not set: there is no database to migrate (memory and Redis need none)\n');
    return 1;
  }
  const opened = await openDatabase(database, { forMigrations: true });
  try {
    const { applied } = await migrateToLatest(opened);
    const where = `${opened.description}, schema ${database.schema}`;
    process.stdout.write(
      applied.length === 0 ? `Up to date (${where}).\n` : `Applied ${applied.join(', ')} (${where}).\n`,
    );
    return 0;
  } finally {
    await opened.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Messages from here name the database by host and directory only, never by its URL.
    process.stderr.write(`Migration failed: ${error instanceof Error ? error.message : String(error)} (DATABASE_URL)\n`);
    process.exit(1);
  },
);
