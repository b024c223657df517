// Opens the SQL database the stores use: a PostgreSQL pool (pg) or an embedded PGlite directory, behind one Kysely.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { AppError } from '../../errors';
import { DirectoryLock } from './directory-lock';
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
/** PostgreSQL's type id of bigint: read back as a number (times in ms and counters stay far below 2^53). */
const INT8_OID = 20;

export interface SqlDatabase {
  readonly target: DatabaseTarget;
  /** Every query of the stores, in DATABASE_SCHEMA. */
  readonly db: Kysely<Database>;
  /** The same connections without the schema, for migrations and raw statements naming it themselves. */
  readonly root: Kysely<Database>;
  /** What a message may show: host, port and database, or the directory; never a password. */
  readonly description: string;
  close(): Promise<void>;
}

/** Opens the connections (lazily for PostgreSQL: the first query connects) or the PGlite directory. */
export async function openDatabase(target: DatabaseTarget): Promise<SqlDatabase> {
  if (target.kind === 'postgres') {
    const pool = createPool(target.url);
    const root = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      target,
      root,
      db: root.withSchema(target.schema),
      description: describeDatabaseUrl(target.url),
      close: () => root.destroy(),
    };
  }
  mkdirSync(target.directory, { recursive: true });
  const lock = DirectoryLock.acquire(target.directory);
  try {
    const pglite = await PGlite.create(target.directory, { parsers: { [INT8_OID]: Number } });
    const root = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      target,
      root,
      db: root.withSchema(target.schema),
      description: target.directory,
      async close() {
        await root.destroy();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** A pool whose waits are bounded: a database that stops answering costs a request seconds, never minutes. */
export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: CALL_TIMEOUT_MS,
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
 * SQLSTATE classes that mean "not now" rather than "this statement is wrong": connection
 * exceptions (08), insufficient resources (53), operator intervention such as a shutdown (57),
 * system errors (58).
 */
const UNAVAILABLE_STATES = /^(08|53|57|58)/;

/**
 * A failure to reach the database becomes the contract's 503 `unavailable`; an error the database
 * answered for a working connection (a bug in a statement, say) stays what it is and becomes a 500.
 */
export function storeError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  // The database's own errors carry a SQLSTATE and a severity; Node's socket errors (EPIPE) do not.
  const answered = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
  if (answered && !UNAVAILABLE_STATES.test(code)) return error;
  return unavailable(error);
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
