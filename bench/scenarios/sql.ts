// The SQL stores against the memory store: throughput side by side, bytes per session row in PostgreSQL, and logout across two instances.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/lib/clock';
import { randomId } from '../../src/lib/random-id';
import { openSqlStores } from '../../src/stores/sql';
import { login, registerUser } from '../lib/accounts';
import type { LoadResult } from '../lib/load';
import { benchSchema, dropSchema, withClient, type BenchPostgres } from '../lib/postgres';
import { ROOT, startServer, stopServer, type ServerProcess } from '../lib/processes';
import { revocationDelay, type RevocationDelay } from '../lib/revocation';
import { sessionRecord, userIdsFor } from '../lib/session-records';
import type { Settings } from '../lib/settings';
import { thisServerEnv } from '../variants';
import { profileRun, refreshRun } from './throughput';

export type SqlStoreKey = 'memory' | 'postgres' | 'pglite';
export const SQL_STORE_KEYS: readonly SqlStoreKey[] = ['memory', 'postgres', 'pglite'];

/** The sessions table of PostgreSQL on disk, per session: what pg_total_relation_size grew by, over the sessions written. */
export interface SessionRowBytes {
  sessions: number;
  /** Table, TOAST and indexes, each session as a login writes it. */
  bytesPerSession: number;
  /** The table (with TOAST) and its indexes, apart. */
  tableBytesPerSession: number;
  indexBytesPerSession: number;
  /** After one refresh of every session: an update writes a new row version, the old one stays until vacuum. */
  afterRefreshBytesPerSession: number;
}

export interface SqlRuns {
  pgliteVersion: string;
  /** Runs of each store, in interleaved rounds; PostgreSQL's are absent without a server. */
  profile: Partial<Record<SqlStoreKey, LoadResult[]>>;
  refresh: Partial<Record<SqlStoreKey, LoadResult[]>>;
  /** Null without PostgreSQL, as are the next. */
  rows: SessionRowBytes | null;
  revocation: RevocationDelay | null;
}

export interface SqlScenarioOptions {
  settings: Settings;
  /** Null: the PostgreSQL rows are skipped, the PGlite ones run all the same. */
  postgres: BenchPostgres | null;
  log(message: string): void;
}

/** One user per server: an access token for GET /profile and the email its refresh runs log in. */
interface Account {
  email: string;
  accessToken: string;
}

/** Access tokens of an hour, as in the other scenarios: sessions remembered as revoked live as long. */
const ACCESS_TTL_MS = 3_600_000;

/** The SQL part once its servers are up: measure() once, then close(). */
export interface SqlPart {
  /** Throughput side by side, then the revocation delay; the session rows were measured at start. */
  measure(): Promise<SqlRuns>;
  /** Stops every server, removes the PGlite directory and drops the schemas; safe to call again. */
  close(): Promise<void>;
}

/**
 * Starts the servers (`node dist/server.js`: the memory store, PostgreSQL in a schema of this run,
 * PGlite in a fresh temporary directory, and a second PostgreSQL instance for the revocation
 * delay) and writes the session rows. Nothing here is timed, so it may overlap other work that
 * times nothing either (run.ts: the heap measurements), which hides PGlite's start-up of several
 * seconds. Cleans up after itself when it fails.
 */
export async function startSqlPart({ settings, postgres, log }: SqlScenarioOptions): Promise<SqlPart> {
  const schema = postgres ? benchSchema() : null;
  const pgliteDirectory = mkdtempSync(path.join(tmpdir(), 'auth-server-bench-pglite-'));
  const servers: ServerProcess[] = [];
  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      await Promise.all(servers.map((server) => stopServer(server)));
      rmSync(pgliteDirectory, { recursive: true, force: true });
      if (postgres && schema) {
        await dropSchema(postgres.url, schema).catch((error: unknown) => log(`could not drop the bench's schema ${schema}: ${String(error)}`));
      }
    })());

  const postgresEnv = postgres && schema ? { DATABASE_URL: postgres.url, DATABASE_SCHEMA: schema } : null;
  const wanted: { key: SqlStoreKey | 'second'; env: Record<string, string> }[] = [
    { key: 'memory', env: {} },
    ...(postgresEnv ? [{ key: 'postgres' as const, env: postgresEnv }, { key: 'second' as const, env: postgresEnv }] : []),
    { key: 'pglite', env: { DATABASE_URL: `file:${pgliteDirectory}` } },
  ];
  try {
    // Together, and every one settled (started or failed) before going on: none may still be
    // starting when close() stops them.
    const [started, measured] = await Promise.allSettled([
      everySettled(
        wanted.map(async ({ key, env }) => {
          const name = key === 'second' ? 'this server, a second PostgreSQL instance' : `this server, ${key} store`;
          // PGlite's first start (unpacking and initialising its database) takes seconds, more while
          // the other servers start beside it.
          const server = await startServer({ name, command: [process.execPath, 'dist/server.js'], env: thisServerEnv(env), readyPath: '/ready', startTimeoutMs: 90_000 });
          servers.push(server);
          return { key, server };
        }),
      ),
      postgres ? sessionRowBytes(postgres, settings.sql.sessionRows) : Promise.resolve(null),
    ]);
    if (started.status === 'rejected') throw started.reason;
    if (measured.status === 'rejected') throw measured.reason;
    const rows = measured.value;
    if (rows) log(`PostgreSQL: ${rows.sessions} sessions, ${rows.bytesPerSession.toFixed(0)} bytes each on disk (table and indexes)`);
    const byKey = new Map<SqlStoreKey, ServerProcess>();
    let second: ServerProcess | undefined;
    for (const { key, server } of started.value) {
      if (key === 'second') second = server;
      else byKey.set(key, server);
    }

    const measure = async (): Promise<SqlRuns> => {
      // The second instance idles through the throughput runs: a heartbeat a second, no requests.
      const { profile, refresh } = await throughput(settings, byKey, log);
      let revocation: RevocationDelay | null = null;
      const first = byKey.get('postgres');
      if (first && second) {
        // Two instances on one schema, as a deployment with two replicas: the throughput server is A.
        revocation = await revocationDelay(first.port, second.port, await registerUser(first.port), settings.sql.revocationRounds);
        log(
          `PostgreSQL: logout on A refused on B after p50 ${revocation.p50Ms.toFixed(2)} ms, p99 ${revocation.p99Ms.toFixed(2)} ms ` +
            `(${revocation.firstProbeRefused} of ${revocation.rounds} at the first request)`,
        );
      }
      return { pgliteVersion: pgliteVersion(), profile, refresh, rows, revocation };
    };
    return { measure, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Like Promise.all, but every promise has settled before the first failure is thrown. */
async function everySettled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  return (await Promise.allSettled(promises)).map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
}

/** The whole SQL part: start, measure, clean up. */
export async function sqlVsMemory(options: SqlScenarioOptions): Promise<SqlRuns> {
  const part = await startSqlPart(options);
  try {
    return await part.measure();
  } finally {
    await part.close();
  }
}

/**
 * GET /profile, then POST /refresh, on every server in each round, each round starting one server
 * later (as the main throughput scenario does): a change of load on the machine hits all alike.
 */
async function throughput(settings: Settings, servers: Map<SqlStoreKey, ServerProcess>, log: (message: string) => void) {
  const { connections, durationSec } = settings.throughput;
  const keys = [...servers.keys()];
  const accounts = new Map<SqlStoreKey, Account>();
  for (const [key, server] of servers) {
    const email = await registerUser(server.port);
    accounts.set(key, { email, accessToken: (await login(server.port, email)).access_token });
  }
  const profileOf = (key: SqlStoreKey, seconds: number) => profileRun(servers.get(key)!, accounts.get(key)!.accessToken, connections, seconds);
  const refreshOf = (key: SqlStoreKey, seconds: number) => refreshRun(servers.get(key)!, accounts.get(key)!.email, connections, seconds);

  // Both routes once before any counted run: compiled code, and a database pool with its
  // connections open. Not in the smoke run, whose figures mean nothing: it only has to be quick.
  for (const key of settings.smoke ? [] : keys) {
    for (const [route, warm] of [['GET /profile', await profileOf(key, settings.warmupSec)], ['POST /refresh', await refreshOf(key, settings.warmupSec)]] as const) {
      if (warm.ok === 0) throw new Error(`${key} store: ${route} answered no 2xx while warming up: ${JSON.stringify(warm.statuses)}`);
    }
  }
  const profile: Partial<Record<SqlStoreKey, LoadResult[]>> = {};
  const refresh: Partial<Record<SqlStoreKey, LoadResult[]>> = {};
  for (let round = 0; round < settings.rounds; round += 1) {
    const order = keys.map((_, i) => keys[(i + round) % keys.length]!);
    for (const key of order) {
      const result = await profileOf(key, durationSec);
      (profile[key] ??= []).push(result);
      log(`GET /profile ${key.padEnd(8)} round ${round + 1}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms`);
    }
    for (const key of order) {
      const result = await refreshOf(key, durationSec);
      (refresh[key] ??= []).push(result);
      log(`POST /refresh ${key.padEnd(8)} round ${round + 1}: ${Math.round(result.rps)} req/s, ${result.failed} failed`);
    }
  }
  return { profile, refresh };
}

/**
 * Writes `count` sessions through the store API (as login writes them, two per user) into a schema
 * of their own, and reads how much the sessions table grew: pg_total_relation_size counts the
 * table, its TOAST table and its indexes. The empty table's pages (index meta pages) are
 * subtracted, so that the figure is per row and does not depend on `count`.
 */
async function sessionRowBytes(postgres: BenchPostgres, count: number): Promise<SessionRowBytes> {
  const schema = benchSchema();
  try {
    const stores = await openSqlStores({ target: { kind: 'postgres', url: postgres.url, schema }, clock: systemClock, accessTtlMs: ACCESS_TTL_MS });
    try {
      const size = () => sessionsTableSize(postgres.url, schema);
      const empty = await size();
      const userIds = userIdsFor(count);
      const now = systemClock.now();
      const records = Array.from({ length: count }, (_, n) => sessionRecord(n, userIds, now));
      await inParallel(count, async (n) => stores.sessions.create(records[n]!));
      const created = await size();
      const iat = Math.floor(now / 1000);
      await inParallel(count, async (n) => {
        const { id, refreshJti } = records[n]!;
        const outcome = await stores.sessions.rotate(id, refreshJti, { jti: randomId(), iat }, { graceMs: 10_000 });
        if (outcome.kind !== 'rotated') throw new Error(`refreshing a fresh session gave ${outcome.kind}`);
      });
      const refreshed = await size();
      return {
        sessions: count,
        bytesPerSession: (created.total - empty.total) / count,
        tableBytesPerSession: (created.table - empty.table) / count,
        indexBytesPerSession: (created.indexes - empty.indexes) / count,
        afterRefreshBytesPerSession: (refreshed.total - empty.total) / count,
      };
    } finally {
      await stores.close();
    }
  } finally {
    // Also when opening failed half-way: the migrations may have made the schema already.
    await dropSchema(postgres.url, schema);
  }
}

async function sessionsTableSize(url: string, schema: string): Promise<{ total: number; table: number; indexes: number }> {
  return withClient(url, async (client) => {
    const table = `${client.escapeIdentifier(schema)}.sessions`;
    // bigint comes back as a string from pg: Number() is exact far beyond any table here.
    const { rows } = await client.query<{ total: string; table: string; indexes: string }>(
      'select pg_total_relation_size($1::regclass) as total, pg_table_size($1::regclass) as table, pg_indexes_size($1::regclass) as indexes',
      [table],
    );
    const row = rows[0]!;
    return { total: Number(row.total), table: Number(row.table), indexes: Number(row.indexes) };
  });
}

/** Runs work(0) … work(count − 1), ten at once: as many as the stores' pool has connections. */
async function inParallel(count: number, work: (n: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: 10 }, lane));
}

function pgliteVersion(): string {
  const manifest = path.join(ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
