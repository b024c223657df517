// Finds a PostgreSQL for the PostgreSQL rows (DATABASE_URL, else one at 127.0.0.1:5432/test); the bench works in schemas of its own and drops only those.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describeDatabaseUrl } from '../../src/stores/sql/database';

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchPostgres {
  url: string;
  /** host:port/database, never the credentials a URL may carry. */
  where: string;
  version: string;
}

/** The PostgreSQL to use, or the reason there is none. */
export async function findPostgres(): Promise<{ postgres: BenchPostgres } | { skipped: string }> {
  const given = process.env.DATABASE_URL || undefined;
  // file:DIR is the embedded database: the PGlite rows run anyway, the PostgreSQL ones need a server.
  if (given && !/^postgres(ql)?:\/\//.test(given)) return { skipped: 'DATABASE_URL is not a postgres:// URL' };
  const url = given ?? LOCAL_POSTGRES;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    // "15.20 (Debian 15.20-0+deb12u1)": the number is enough.
    const version = rows[0]?.server_version.split(' ')[0] ?? 'unknown';
    return { postgres: { url, where: describeDatabaseUrl(url), version } };
  } catch {
    return { skipped: given ? 'DATABASE_URL does not answer' : 'DATABASE_URL is not set and nothing answers at 127.0.0.1:5432 (database test)' };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema name no other run uses (the server is shared: tests and other benches work beside this one). */
export function benchSchema(): string {
  return `bench_${randomBytes(6).toString('hex')}`;
}

/** Runs `work` on a client of its own, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the schema and everything in it, and nothing else. */
export function dropSchema(url: string, schema: string): Promise<void> {
  return withClient(url, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  });
}
