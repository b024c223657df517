// The SQL stores: the shared store contract on a real PostgreSQL (a schema of its own) and on an embedded PGlite directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/lib/logger';
import { openSqlStores, sqlStoresOn, type SqlStores } from '../../src/stores/sql';
import { openDatabase, type SqlDatabase } from '../../src/stores/sql/database';
import { migrateToLatest, type MigrationReport } from '../../src/stores/sql/migrate';
import { randomId } from '../../src/lib/random-id';
import { eventually } from '../helpers/eventually';
import { sessionRecord, userRecord } from '../helpers/store-records';
import { FakeClock } from '../helpers/fake-clock';
import { describeWithPostgres, dropSchema, inspector, uniqueSchema } from '../helpers/postgres';
import { runAuditContract } from './audit-store.contract';
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
  const longSchema = `${uniqueSchema()}_`.padEnd(63, 'x');
  const opened: SqlStores[] = [];

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((stores) => stores.close()));
  });

  afterAll(async () => {
    await dropSchema(url, schema);
    await dropSchema(url, longSchema);
  });

  async function open(clock: FakeClock, inSchema = schema): Promise<SqlStores> {
    const stores = await openSqlStores({
      target: { kind: 'postgres', url, schema: inSchema },
      clock,
      accessTtlMs: ACCESS_TTL,
      logger: createLogger('silent'),
    });
    opened.push(stores);
    await stores.whenReady(5000);
    return stores;
  }

  it('keeps rotating after a later migration adds a column to sessions (the named statement names its columns)', async () => {
    const ownSchema = uniqueSchema();
    try {
      const clock = new FakeClock();
      const stores = await open(clock, ownSchema);
      const s = sessionRecord(clock.now());
      await stores.sessions.create(s);
      let jti = s.refreshJti;
      const rotate = async () => {
        const successor = { jti: randomId(), iat: 0 };
        await expect(stores.sessions.rotate(s.id, jti, successor, { graceMs: 10_000 })).resolves.toMatchObject({ kind: 'rotated' });
        jti = successor.jti;
      };
      for (let i = 0; i < 3; i += 1) await rotate();
      const client = await inspector(url);
      try {
        await client.query(`alter table ${client.escapeIdentifier(ownSchema)}.sessions add column added_later integer`);
      } finally {
        await client.end();
      }
      for (let i = 0; i < 3; i += 1) await rotate();
    } finally {
      await Promise.all(opened.splice(0).map((stores) => stores.close()));
      await dropSchema(url, ownSchema);
    }
  });

  it('ends sessions and changes users in a schema of the longest name allowed (63 characters)', async () => {
    expect(longSchema).toHaveLength(63);
    const clock = new FakeClock();
    const [a, b] = [await open(clock, longSchema), await open(clock, longSchema)];
    const user = userRecord(clock.now());
    await a.users.create(user);
    await expect(b.users.findById(user.id)).resolves.toMatchObject({ role: 'user' });
    await expect(a.users.update(user.id, { role: 'admin' })).resolves.toMatchObject({ role: 'admin' });
    await eventually(async () => (await b.users.findById(user.id))?.role === 'admin');

    const session = sessionRecord(clock.now(), { userId: user.id });
    await a.sessions.create(session);
    await expect(a.sessions.end(session.id)).resolves.toBe(true);
    await eventually(() => b.revocations.has(session.id));
    await expect(b.revocations.isActive(session.id)).resolves.toBe(false);
  });

  it('answers 503 within the call deadline while another connection holds the session row, and ends it once the lock goes', async () => {
    const clock = new FakeClock();
    const stores = await open(clock);
    const session = sessionRecord(clock.now(), { userId: randomId() });
    await stores.sessions.create(session);
    const holder = await inspector(url);
    try {
      await holder.query('begin');
      await holder.query(`select id from ${holder.escapeIdentifier(schema)}.sessions where id = $1 for update`, [session.id]);
      const started = Date.now();
      await expect(stores.sessions.end(session.id)).rejects.toMatchObject({ code: 'unavailable', status: 503 });
      expect(Date.now() - started).toBeLessThan(5000);
      await holder.query('rollback');
    } finally {
      await holder.end();
    }
    // The lock was not waited for past its limit: nothing ended behind the caller's back.
    await expect(stores.sessions.isActive(session.id)).resolves.toBe(true);
    await expect(stores.sessions.end(session.id)).resolves.toBe(true);
    await expect(stores.revocations.isActive(session.id)).resolves.toBe(false);
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

  runAuditContract('PostgreSQL', {
    async open(clock, { retentionMs }) {
      const stores = await openSqlStores({
        target: { kind: 'postgres', url, schema },
        clock,
        accessTtlMs: ACCESS_TTL,
        logger: createLogger('silent'),
        auditRetentionMs: retentionMs,
      });
      // This file's afterEach closes them.
      opened.push(stores);
      await stores.whenReady(5000);
      return { audit: stores.audit, sweep: () => stores.sweep(), close: async () => undefined };
    },
    bound: { kind: 'retention' },
  });

  it('sweeps a backlog of old audit events larger than one delete statement takes', async () => {
    const clock = new FakeClock();
    const stores = await open(clock);
    const client = await inspector(url);
    try {
      // Events of 1970 (ids of time 0), 12,000 of them: beyond the retention of any clock.
      await client.query(
        `insert into ${client.escapeIdentifier(schema)}.audit_events (id, at, type, user_id, actor_id, ip, user_agent, details)
         select '0000000000' || lpad(n::text, 16, '0'), 0, 'logout', null, null, '127.0.0.1', 'backlog', '{}' from generate_series(1, 12000) n`,
      );
      const kept = await stores.audit.record({ type: 'logout', userId: randomId(), actorId: null, ip: '127.0.0.1', userAgent: 'jest', details: {} });
      await stores.sweep();
      const { rows } = await client.query<{ count: string }>(
        `select count(*) from ${client.escapeIdentifier(schema)}.audit_events where user_agent = 'backlog'`,
      );
      expect(rows[0]!.count).toBe('0');
      await expect(stores.audit.list({ limit: 1, userId: kept.userId! })).resolves.toEqual({ events: [kept], nextCursor: null });
    } finally {
      await client.end();
    }
  });
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

  runAuditContract('PGlite', {
    open(clock, { retentionMs }) {
      const stores = sqlStoresOn(database, migrations, { clock, accessTtlMs: ACCESS_TTL, auditRetentionMs: retentionMs }, false);
      return { audit: stores.audit, sweep: () => stores.sweep(), close: () => stores.close() };
    },
    bound: { kind: 'retention' },
  });

  it('knows of an end and a change that committed after their caller was given a 503', async () => {
    const clock = new FakeClock();
    const stores = sqlStoresOn(database, migrations, { clock, accessTtlMs: ACCESS_TTL }, false);
    await stores.whenReady(5000);
    const user = userRecord(clock.now());
    await stores.users.create(user);
    await expect(stores.users.findById(user.id)).resolves.toMatchObject({ role: 'user', disabled: false });
    const session = sessionRecord(clock.now(), { userId: user.id });
    await stores.sessions.create(session);

    // PGlite has one connection: a transaction that keeps it for 5 s holds every other call up.
    const busy = database.db.transaction().execute(() => new Promise((resolve) => setTimeout(resolve, 5000)));
    const ending = stores.sessions.end(session.id);
    const disabling = stores.users.update(user.id, { disabled: true });
    await expect(ending).rejects.toMatchObject({ code: 'unavailable' });
    await expect(disabling).rejects.toMatchObject({ code: 'unavailable' });
    await busy;
    await eventually(() => stores.revocations.has(session.id), 5000);
    await expect(stores.revocations.isActive(session.id)).resolves.toBe(false);
    await expect(stores.users.findById(user.id)).resolves.toMatchObject({ disabled: true });
    await stores.close();
  }, 20_000);
});
