// The SQL stores: the shared store contract on a real PostgreSQL (a schema of its own) and on an embedded PGlite directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/lib/logger';
import { openSqlStores, sqlStoresOn, type SqlStores } from '../../src/stores/sql';
import { openDatabase, type SqlDatabase } from '../../src/stores/sql/database';
import { migrateToLatest, type MigrationReport } from '../../src/stores/sql/migrate';
import type { FakeClock } from '../helpers/fake-clock';
import { describeWithPostgres, dropSchema, uniqueSchema } from '../helpers/postgres';
import { runStoreContract, type ContractHooks, type ExpiringEntry } from './session-store.contract';

const ACCESS_TTL = 15 * 60_000;

/** Whether the row is still in its table, expired or not: only sweep() deletes an expired row. */
const hooks: ContractHooks = {
  async holds(stores, entry: ExpiringEntry) {
    const { db } = (stores as SqlStores).database;
    const row =
      entry.kind === 'session'
        ? await db.selectFrom('sessions').select('id').where('id', '=', entry.id).executeTakeFirst()
        : entry.kind === 'rateLimit'
          ? await db.selectFrom('rate_limits').select('key').where('key', '=', entry.key).executeTakeFirst()
          : await db.selectFrom('one_time_tokens').select('hash').where('hash', '=', entry.hash).executeTakeFirst();
    return row !== undefined;
  },
};

describeWithPostgres('PostgreSQL stores', (url) => {
  const schema = uniqueSchema();

  afterAll(async () => {
    await dropSchema(url, schema);
  });

  runStoreContract('PostgreSQL', async (clock: FakeClock) => {
    const stores = await openSqlStores({
      target: { kind: 'postgres', url, schema },
      clock,
      accessTtlMs: ACCESS_TTL,
      logger: createLogger('silent'),
    });
    await stores.whenReady(5000);
    return stores;
  }, hooks);
});

describe('PGlite stores', () => {
  // One PGlite for the whole file: opening one takes about a second. Every test's rows are its own.
  let directory: string;
  let database: SqlDatabase;
  let migrations: MigrationReport;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'auth-pglite-'));
    database = await openDatabase({ kind: 'pglite', directory, schema: 'auth' });
    migrations = await migrateToLatest(database);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  runStoreContract('PGlite', (clock: FakeClock): SqlStores =>
    sqlStoresOn(database, migrations, { clock, accessTtlMs: ACCESS_TTL }, false),
  hooks);
});
