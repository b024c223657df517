// Builds the SQL stores (PostgreSQL or PGlite): the choice when DATABASE_URL is set, so that accounts and sessions survive restarts.
import type { Clock } from '../../lib/clock';
import { createLogger, type Logger } from '../../lib/logger';
import type { RateLimitCounter, Stores } from '../types';
import { ChangeFeed } from './change-feed';
import { guarded, openDatabase, unavailable, type DatabaseTarget, type SqlDatabase } from './database';
import { migrateToLatest, type MigrationReport } from './migrate';
import { SqlAuditStore } from './sql-audit';
import { SqlMfaStore } from './sql-mfa';
import { SqlOneTimeTokenStore } from './sql-one-time-tokens';
import { SqlRateLimitCounter } from './sql-rate-limits';
import { SqlSessionStore } from './sql-sessions';
import { SqlUserStore } from './sql-users';

export { ChangeFeed, SqlAuditStore, SqlMfaStore, SqlOneTimeTokenStore, SqlRateLimitCounter, SqlSessionStore, SqlUserStore };
export type { DatabaseTarget, SqlDatabase };

export interface SqlStoresOptions {
  target: DatabaseTarget;
  clock: Clock;
  /** Access token lifetime (ms): how long an ended session's id must be remembered as revoked. */
  accessTtlMs: number;
  logger?: Logger;
  /** Counters kept elsewhere (Redis, when REDIS_URL is set too); by default a table. */
  rateLimits?: RateLimitCounter;
  /** How long audit events are kept (ms, AUDIT_RETENTION); DEFAULT_AUDIT_RETENTION_MS by default. */
  auditRetentionMs?: number;
}

export interface SqlStores extends Stores {
  revocations: ChangeFeed;
  database: SqlDatabase;
  /** What start-up migrated. */
  migrations: MigrationReport;
  /** Resolves once the change feed is current; rejects after `timeoutMs` otherwise. */
  whenReady(timeoutMs: number): Promise<void>;
}

/**
 * Opens the database, checks that it answers, brings the schema up to date, then builds the
 * stores. Throws an Error fit for an operator (never the URL's credentials) when the database
 * cannot be reached or migrated.
 */
export async function openSqlStores(options: SqlStoresOptions): Promise<SqlStores> {
  const database = await openDatabase(options.target);
  let migrations: MigrationReport;
  try {
    await reach(database);
    migrations = await migrate(database);
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }

  return sqlStoresOn(database, migrations, options, true);
}

/**
 * The stores on a database that is open and migrated. `ownsDatabase`: close() closes the database
 * too (tests share one PGlite between many sets of stores).
 */
export function sqlStoresOn(
  database: SqlDatabase,
  migrations: MigrationReport,
  options: Omit<SqlStoresOptions, 'target'>,
  ownsDatabase: boolean,
): SqlStores {
  const { clock, accessTtlMs } = options;
  const logger = options.logger ?? createLogger('silent');
  const { target } = database;
  const sessions: SqlSessionStore = new SqlSessionStore({
    database,
    clock,
    accessTtlMs,
    onEnded: (sessionId, until) => feed.sessionEnded(sessionId, until),
  });
  const feed = new ChangeFeed({
    listenUrl: target.kind === 'postgres' ? target.url : null,
    schema: target.schema,
    clock,
    readRevoked: () => sessions.readRevoked(),
    fallback: { isActive: (sessionId) => sessions.isActive(sessionId) },
    logger,
  });
  feed.start();
  const counters = new SqlRateLimitCounter(database, clock);
  const oneTimeTokens = new SqlOneTimeTokenStore(database, clock);
  const audit = new SqlAuditStore(database, clock, options.auditRetentionMs);

  return {
    database,
    migrations,
    users: new SqlUserStore(database, feed),
    sessions,
    rateLimits: options.rateLimits ?? counters,
    oneTimeTokens,
    mfa: new SqlMfaStore(database),
    audit,
    revocations: feed,

    async ping() {
      await guarded(() => database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute());
      if (!feed.isCurrent) throw unavailable();
    },

    // Never rejects: it runs from a timer, and a database away now is swept next time.
    async sweep() {
      feed.prune();
      for (const sweep of [() => sessions.sweep(), () => counters.sweep(), () => oneTimeTokens.sweep(), () => audit.sweep()]) {
        await sweep().catch(() => undefined);
      }
    },

    async close() {
      await feed.close();
      if (ownsDatabase) await database.close();
    },

    whenReady(timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const check = setInterval(() => {
          if (feed.isCurrent) {
            clearInterval(check);
            resolve();
          } else if (Date.now() - started >= timeoutMs) {
            clearInterval(check);
            reject(new Error(`cannot listen for changes on the database at ${database.description} (DATABASE_URL)`));
          }
        }, 25);
      });
    },
  };
}

/** PostgreSQL migrates on a connection of its own, without the request limits; PGlite on its only one. */
async function migrate(database: SqlDatabase): Promise<MigrationReport> {
  if (database.target.kind === 'pglite') return migrateToLatest(database);
  const migrating = await openDatabase(database.target, { forMigrations: true });
  try {
    return await migrateToLatest(migrating);
  } finally {
    await migrating.close();
  }
}

/** One round trip, so that "cannot reach" is told apart from "cannot migrate". */
async function reach(database: SqlDatabase): Promise<void> {
  try {
    await guarded(() => database.root.selectNoFrom((eb) => eb.val(1).as('one')).execute());
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw new Error(`cannot reach the database at ${database.description} (DATABASE_URL): ${describeFailure(cause)}`, { cause });
  }
}

/** A reason in words that cannot contain the URL's credentials. */
function describeFailure(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === '28P01' || code === '28000') return 'it refused the credentials';
  if (code === '3D000') return 'no such database';
  if (typeof code === 'string' && /^[A-Z]+$/.test(code)) return code;
  if (/timed? ?out|timeout/i.test(String(message))) return 'timed out';
  return 'connection failed';
}
