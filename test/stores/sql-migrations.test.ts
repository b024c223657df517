// Migrations on a real PostgreSQL and on PGlite: a fresh schema, an up-to-date one, instances migrating at the same moment, and `npm run migrate`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Migrator } from 'kysely';
import { createLogger } from '../../src/lib/logger';
import { randomId } from '../../src/lib/random-id';
import { sqlStoresOn } from '../../src/stores/sql';
import { openDatabase, type SqlDatabase } from '../../src/stores/sql/database';
import { migrateToLatest } from '../../src/stores/sql/migrate';
import { MIGRATIONS } from '../../src/stores/sql/migrations';
import { killStartedChildren, spawnNode } from '../helpers/child-process';
import { FakeClock } from '../helpers/fake-clock';
import { describeWithPostgres, dropSchema, inspector, uniqueSchema } from '../helpers/postgres';
import { sessionRecord } from '../helpers/store-records';

const ALL = Object.keys(MIGRATIONS);
/** Every table of the latest schema, the Migrator's own included, by name. */
const TABLES = [
  'audit_events', 'kysely_migration', 'kysely_migration_lock', 'mfa_factors', 'one_time_tokens', 'rate_limits',
  'revoked_sessions', 'sessions', 'users',
];

afterEach(() => killStartedChildren());

describeWithPostgres('migrations on PostgreSQL', (url) => {
  const schemas: string[] = [];
  const opened: SqlDatabase[] = [];

  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    for (const schema of schemas) await dropSchema(url, schema);
  });

  async function open(schema: string): Promise<SqlDatabase> {
    const database = await openDatabase({ kind: 'postgres', url, schema });
    opened.push(database);
    return database;
  }

  async function tablesOf(schema: string): Promise<string[]> {
    const client = await inspector(url);
    try {
      const { rows } = await client.query<{ table_name: string }>(
        'select table_name from information_schema.tables where table_schema = $1 order by table_name',
        [schema],
      );
      return rows.map((row) => row.table_name);
    } finally {
      await client.end();
    }
  }

  it('creates the schema and every table on a fresh database, then finds nothing to do', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const database = await open(schema);

    await expect(migrateToLatest(database)).resolves.toEqual({ applied: ALL });
    expect(ALL).toEqual(['0001-initial', '0002-refresh-window', '0003-audit']);
    expect(await tablesOf(schema)).toEqual(TABLES);
    await expect(migrateToLatest(database)).resolves.toEqual({ applied: [] });
  });

  it('applies each migration once when three instances migrate a fresh schema at the same moment', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const instances = await Promise.all([open(schema), open(schema), open(schema)]);

    const reports = await Promise.all(instances.map((database) => migrateToLatest(database)));
    expect(reports.map((report) => report.applied).sort()).toEqual([[], [], ALL]);
    const client = await inspector(url);
    try {
      const { rows } = await client.query(`select name from ${client.escapeIdentifier(schema)}.kysely_migration order by name`);
      expect(rows.map((row: { name: string }) => row.name)).toEqual(ALL);
    } finally {
      await client.end();
    }
  });

  it('upgrades a schema of the first migration with live sessions in it: they refresh after the upgrade', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const database = await open(schema);
    const first = new Migrator({ db: database.db, provider: { getMigrations: async () => MIGRATIONS }, migrationTableSchema: schema });
    await expect(first.migrateTo('0001-initial')).resolves.toEqual({
      results: [{ direction: 'Up', migrationName: '0001-initial', status: 'Success' }],
    });
    const clock = new FakeClock();
    const live = sessionRecord(clock.now());
    // The row as the first migration's columns hold it: no refresh window yet.
    const { refreshWindowStart: _start, refreshCount: _count, ...before } = live;
    await database.db
      .insertInto('sessions')
      .values({
        id: before.id, user_id: before.userId, created_at: before.createdAt, last_used_at: before.lastUsedAt,
        expires_at: before.expiresAt, user_agent: before.userAgent, ip: before.ip, refresh_jti: before.refreshJti,
        refresh_iat: before.refreshIat, previous_jti: null, rotated_at: before.rotatedAt,
      } as never)
      .execute();

    const upgrade = await migrateToLatest(database);
    expect(upgrade).toEqual({ applied: ALL.slice(1) });
    // The stores do not close the database: the suite's afterAll does.
    const stores = sqlStoresOn(database, upgrade, { clock, accessTtlMs: 15 * 60_000, logger: createLogger('silent') }, false);
    clock.advanceSeconds(5);
    const policy = { graceMs: 10_000, refreshLimit: { max: 1, windowMs: 3_600_000 } };
    await expect(stores.sessions.rotate(live.id, live.refreshJti, { jti: randomId(), iat: 0 }, policy)).resolves.toMatchObject({
      kind: 'rotated',
      session: { id: live.id, refreshWindowStart: clock.now(), refreshCount: 1 },
    });
    await stores.close();
  });

  it('adds the audit log to a schema of the second migration, with the indexes its pages use, and takes it out again', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const database = await open(schema);
    const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => MIGRATIONS }, migrationTableSchema: schema });
    expect((await migrator.migrateTo('0002-refresh-window')).error).toBeUndefined();
    expect(await tablesOf(schema)).not.toContain('audit_events');

    await expect(migrateToLatest(database)).resolves.toEqual({ applied: ['0003-audit'] });
    const client = await inspector(url);
    try {
      const { rows: indexes } = await client.query<{ indexdef: string }>(
        'select indexdef from pg_indexes where schemaname = $1 and tablename = $2 order by indexname',
        [schema, 'audit_events'],
      );
      expect(indexes.map((row) => row.indexdef.replace(/^.* USING btree /, ''))).toEqual(['(id)', '(type, id)', '(user_id, id)']);
      const { rows: columns } = await client.query<{ column_name: string; collation_name: string | null; is_nullable: string }>(
        'select column_name, collation_name, is_nullable from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position',
        [schema, 'audit_events'],
      );
      // Ids compare byte by byte whatever the database's locale: their order is time order.
      expect(columns.map((c) => [c.column_name, c.is_nullable])).toEqual([
        ['id', 'NO'], ['at', 'NO'], ['type', 'NO'], ['user_id', 'YES'], ['actor_id', 'YES'], ['ip', 'NO'], ['user_agent', 'NO'], ['details', 'NO'],
      ]);
      expect(columns[0]!.collation_name).toBe('C');
    } finally {
      await client.end();
    }

    await expect(migrator.migrateTo('0002-refresh-window')).resolves.toEqual({
      results: [{ direction: 'Down', migrationName: '0003-audit', status: 'Success' }],
    });
    expect(await tablesOf(schema)).not.toContain('audit_events');
  });

  it('leaves other schemas alone: two schemas in one database each get their own tables', async () => {
    const [first, second] = [uniqueSchema(), uniqueSchema()];
    schemas.push(first, second);
    await migrateToLatest(await open(first));
    await expect(migrateToLatest(await open(second))).resolves.toEqual({ applied: ALL });
    expect(await tablesOf(second)).toEqual(await tablesOf(first));
  });
});

describe('migrations on PGlite', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'auth-migrate-'));
  });

  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('migrates a fresh directory, then finds nothing to do after a reopen', async () => {
    const target = { kind: 'pglite' as const, directory, schema: 'auth' };
    const first = await openDatabase(target);
    try {
      await expect(migrateToLatest(first)).resolves.toEqual({ applied: ALL });
    } finally {
      await first.close();
    }
    const again = await openDatabase(target);
    try {
      await expect(migrateToLatest(again)).resolves.toEqual({ applied: [] });
    } finally {
      await again.close();
    }
  }, 60_000);

  it('npm run migrate applies the migrations once, then says the schema is up to date', async () => {
    const env = { DATABASE_URL: `file:${directory}` };
    const first = spawnNode('dist/cli/migrate.js', { isolateConfig: true, env });
    await expect(first.waitForExit(60_000)).resolves.toEqual({ code: 0, signal: null });
    expect(first.stdout()).toBe(`Applied ${ALL.join(', ')} (${directory}, schema auth).\n`);

    const second = spawnNode('dist/cli/migrate.js', { isolateConfig: true, env });
    await expect(second.waitForExit(60_000)).resolves.toEqual({ code: 0, signal: null });
    expect(second.stdout()).toBe(`Up to date (${directory}, schema auth).\n`);
  }, 120_000);

  it('npm run migrate with a DATABASE_URL of another kind lists the problem, never the value', async () => {
    const child = spawnNode('dist/cli/migrate.js', { isolateConfig: true, env: { DATABASE_URL: 'mysql://auth:s3cr3t@db/app' } });
    await expect(child.waitForExit(20_000)).resolves.toEqual({ code: 1, signal: null });
    expect(child.stderr()).toBe(
      'Invalid configuration:\n  - DATABASE_URL: must be a postgres:// or postgresql:// URL with a host, such as postgres://user:password@host:5432/db, or file: and a directory for an embedded database, such as file:./data/auth\n',
    );
    expect(child.stdout()).toBe('');
  });

  it('npm run migrate without DATABASE_URL says there is nothing to migrate', async () => {
    const child = spawnNode('dist/cli/migrate.js', { isolateConfig: true });
    await expect(child.waitForExit(20_000)).resolves.toEqual({ code: 1, signal: null });
    expect(child.stderr()).toBe('DATABASE_URL is not set: there is no database to migrate (memory and Redis need none)\n');
  });
});
