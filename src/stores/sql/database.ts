// Opens the SQL database the stores use: a PostgreSQL pool (pg) or an embedded PGlite directory, behind one Kysely.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { AppError } from '../../errors';
import { lockDirectory } from './directory-lock';
import type { Database } from './schema';

/** Where the records live: a PostgreSQL server, or a PGlite data directory (one process). */
export type DatabaseTarget =
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
  | { readonly kind: 'pglite'; readonly directory: string; readonly schema: string };

/** How long one store call may take, connection wait included, before its request gets a 503. */
export const CALL_TIMEOUT_MS = 4000;
/** How long to wait for a free connection or a new one; within CALL_TIMEOUT_MS. */
const CONNECT_TIMEOUT_MS = 2500;
const POOL_SIZE = 10;
const COUNTERS_POOL_SIZE = 4;
/**
 * The server's own limits, for connections that serve requests: a statement the client has given
 * up on stops on the server too, a row lock is not waited for past the call's deadline, and a
 * transaction left open by an instance that vanished mid-way (no reset packet) releases its row
 * locks in seconds, not when TCP keepalive notices, hours later.
 */
const SERVER_TIMEOUTS = { statement_timeout: 3500, lock_timeout: 3000, idle_in_transaction_session_timeout: 5000 };
/** PostgreSQL's type id of bigint: read back as a number (times in ms and counters stay far below 2^53). */
const INT8_OID = 20;

/** A statement of hot(): a name unique in the process, and its text. */
export interface HotStatement {
  readonly name: string;
  readonly text: string;
}

export interface SqlDatabase {
  readonly target: DatabaseTarget;
  /** Every query of the stores, in DATABASE_SCHEMA. */
  readonly db: Kysely<Database>;
  /**
   * The rate-limit counters' queries, in DATABASE_SCHEMA, on connections of their own (PostgreSQL):
   * a flood of sign-ins from one address waits there, not in the pool every other request needs,
   * and their commits do not wait for the disk (a counter lost in a database crash costs nothing,
   * and waiting for each flush would make requests from one address queue behind each other).
   */
  readonly counters: Kysely<Database>;
  /** The same connections without the schema, for migrations and raw statements naming it themselves. */
  readonly root: Kysely<Database>;
  /**
   * Runs a statement some route runs on every request (the rotation, a counter), written once as
   * SQL text naming its schema, on the main connections or the counters'. On PostgreSQL it is a
   * named prepared statement, parsed and planned once per connection: measured, a rotation cost
   * 311 µs of server CPU through Kysely's raw query, 204 µs as an unnamed pg query and 130 µs as
   * a named one, and PostgreSQL answered in half the time.
   */
  hot<Row>(connections: 'main' | 'counters', statement: HotStatement, parameters: unknown[]): Promise<Row[]>;
  /** What a message may show: host, port and database, or the directory; never a password. */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Opens the connections (lazily for PostgreSQL: the first query connects) or the PGlite directory.
 * `forMigrations`: without the per-statement limits (one migration may rewrite a large table),
 * and one connection.
 */
export async function openDatabase(target: DatabaseTarget, { forMigrations = false } = {}): Promise<SqlDatabase> {
  if (target.kind === 'postgres') {
    const mainPool = createPool(target.url, forMigrations);
    const root = new Kysely<Database>({ dialect: new PostgresDialect({ pool: mainPool }) });
    // Migrations count nothing: their connection has no counters' pool beside it.
    const countersPool = forMigrations
      ? mainPool
      : createPool(target.url, false, { max: COUNTERS_POOL_SIZE, options: '-c synchronous_commit=off' });
    const counters = forMigrations ? root : new Kysely<Database>({ dialect: new PostgresDialect({ pool: countersPool }) });
    return {
      target,
      root,
      db: root.withSchema(target.schema),
      counters: counters.withSchema(target.schema),
      async hot<Row>(connections: 'main' | 'counters', statement: HotStatement, parameters: unknown[]) {
        const pool = connections === 'main' ? mainPool : countersPool;
        const result = await pool.query<Row & pg.QueryResultRow>({ name: statement.name, text: statement.text, values: parameters });
        return result.rows;
      },
      description: describeDatabaseUrl(target.url),
      async close() {
        await Promise.all([root.destroy(), counters === root ? undefined : counters.destroy()]);
      },
    };
  }
  mkdirSync(target.directory, { recursive: true });
  const lock = await lockDirectory(target.directory);
  try {
    const pglite = await PGlite.create(target.directory, { parsers: { [INT8_OID]: Number } });
    const root = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      target,
      root,
      db: root.withSchema(target.schema),
      counters: root.withSchema(target.schema),
      // PGlite runs in this process: there is no round trip, and no named statements, to save.
      async hot<Row>(_connections: 'main' | 'counters', statement: HotStatement, parameters: unknown[]) {
        const { rows } = await root.executeQuery<Row>(CompiledQuery.raw(statement.text, parameters));
        return rows;
      },
      description: target.directory,
      async close() {
        await root.destroy();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** A pool whose waits are bounded: a database that stops answering costs a request seconds, never minutes. */
export function createPool(url: string, forMigrations = false, extra: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: forMigrations ? 1 : POOL_SIZE,
    ...extra,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(forMigrations ? {} : { query_timeout: CALL_TIMEOUT_MS, ...SERVER_TIMEOUTS }),
    keepAlive: true,
    application_name: 'auth-server',
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // A connection that drops emits 'error': an idle one on the pool, one lent out on the client
  // itself (the pool listens only while it is idle). Unheard, either would crash the process; the
  // query in flight fails on its own, and the pool discards a broken client when it comes back.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * A schema-qualified table name for SQL text written once (the hot statements, see SqlDatabase.hot).
 * DATABASE_SCHEMA is checked to be a plain lower-case identifier; this refuses anything else.
 */
export function qualifiedTable(schema: string, table: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema) || !/^[a-z_]+$/.test(table)) throw new Error(`not a plain identifier: ${schema}.${table}`);
  return `"${schema}"."${table}"`;
}

/** Host, port and database of a PostgreSQL URL: what a message may show (never the credentials). */
export function describeDatabaseUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

/** The contract's 503: the answer to any request that needs the database while it cannot be reached. */
export function unavailable(cause?: unknown): AppError {
  return new AppError('unavailable', { description: 'A backing store is unreachable.', cause });
}

/**
 * SQLSTATEs that mean "not now" rather than "this statement is wrong": connection exceptions (08),
 * insufficient resources (53), operator intervention such as a shutdown or a statement timeout
 * (57), system errors (58), a lock not granted in time (55P03), and a deadlock or serialization
 * failure (40001, 40P01) that a retry would resolve.
 */
const UNAVAILABLE_STATES = /^(08|53|57|58|55P03|40001|40P01)/;

/**
 * A failure to reach the database becomes the contract's 503 `unavailable`; an error the database
 * answered for a working connection (a bug in a statement, say) stays what it is and becomes a 500.
 */
export function storeError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  // The database's own errors carry a SQLSTATE and a severity; Node's socket errors (EPIPE) do not.
  const answered = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
  if (answered && !UNAVAILABLE_STATES.test(code)) return statementError(error as DatabaseErrorFields);
  return unavailable(error);
}

interface DatabaseErrorFields {
  code: string;
  constraint?: string;
  table?: string;
}

/**
 * A statement the database refused, as the log should see it: its SQLSTATE, table and constraint,
 * never the driver's message or `detail`, which can quote the row ("Failing row contains (…)" with
 * a password hash in it). Callers that expect a code (a unique violation) still find it.
 */
function statementError({ code, constraint, table }: DatabaseErrorFields): Error & DatabaseErrorFields {
  const where = [table && `table ${table}`, constraint && `constraint ${constraint}`].filter(Boolean).join(', ');
  return Object.assign(new Error(`the database refused a statement: SQLSTATE ${code}${where ? ` (${where})` : ''}`), {
    code,
    constraint,
    table,
  });
}

/**
 * Runs one store call with a deadline: connection trouble, and a database that does not answer
 * within CALL_TIMEOUT_MS, become AppError('unavailable'). The work itself may go on; its result is
 * then dropped (pg's own query timeout ends it soon after).
 */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(unavailable(new Error('database call timed out'))), CALL_TIMEOUT_MS);
  });
  const running = work();
  // A late rejection after the deadline has nobody waiting for it.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, deadline]);
  } catch (error) {
    throw storeError(error);
  } finally {
    clearTimeout(timer);
  }
}
