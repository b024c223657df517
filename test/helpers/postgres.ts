// The PostgreSQL the tests use (TEST_DATABASE_URL, else 127.0.0.1:5432/test if it answers), a schema per run, and dropping only that schema.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describeWithService, tcpAnswers, type FoundService } from './services';

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

/** TEST_DATABASE_URL when set (used even if it does not answer: then the tests fail), else the local one if it answers. */
function findPostgres(): FoundService {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, tried: 'TEST_DATABASE_URL' };
  return { url: tcpAnswers(LOCAL_POSTGRES, 5432) ? LOCAL_POSTGRES : null, tried: '127.0.0.1:5432' };
}

export const POSTGRES = findPostgres();

/** describe() for suites that need PostgreSQL: skipped without one, except in CI (see services.ts). */
export function describeWithPostgres(name: string, body: (url: string) => void): void {
  const service = {
    name: 'PostgreSQL',
    found: POSTGRES,
    howToGetOne: 'start PostgreSQL or set TEST_DATABASE_URL',
    ciSetup: '.ci/setup-postgres.sh exports TEST_DATABASE_URL',
  };
  describeWithService(service, name, body);
}

/** A schema name no other test run uses. */
export function uniqueSchema(): string {
  return `test_${randomBytes(6).toString('hex')}`;
}

/** Drops the schema and everything in it, and nothing else. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A plain client for looking at what the stores wrote; the caller ends it. */
export async function inspector(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
