// The PostgreSQL the tests use (TEST_DATABASE_URL, else 127.0.0.1:5432/test if it answers), a schema per run, and dropping only that schema.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { inCi } from './ci';

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

/** Whether a TCP connection to the URL's host and port opens within two seconds (checked in a child: describe() is synchronous). */
function answers(url: string): boolean {
  const { hostname, port } = new URL(url);
  const script = `require('net').connect({host: process.argv[1], port: +process.argv[2]})
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script, hostname, port || '5432'], { timeout: 5000 }).status === 0;
}

/** TEST_DATABASE_URL when set (used even if it does not answer: then the tests fail), else the local one if it answers. */
function findPostgres(): { url: string | null; tried: string } {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, tried: 'TEST_DATABASE_URL' };
  return { url: answers(LOCAL_POSTGRES) ? LOCAL_POSTGRES : null, tried: '127.0.0.1:5432' };
}

export const POSTGRES = findPostgres();

/**
 * describe() for suites that need PostgreSQL. Without one they are skipped with a line saying so,
 * except in CI (see ci.ts), where a missing PostgreSQL fails.
 */
export function describeWithPostgres(name: string, body: (url: string) => void): void {
  if (POSTGRES.url) {
    const url = POSTGRES.url;
    describe(name, () => body(url));
    return;
  }
  if (inCi()) {
    describe(name, () => {
      it('has a PostgreSQL server to run against (CI)', () => {
        throw new Error(`no PostgreSQL at ${POSTGRES.tried}: CI must provide one (.ci/setup-postgres.sh exports TEST_DATABASE_URL)`);
      });
    });
    return;
  }
  console.warn(`${name}: SKIPPED, no PostgreSQL at ${POSTGRES.tried} (start PostgreSQL or set TEST_DATABASE_URL)`);
  describe.skip(`${name} (SKIPPED: no PostgreSQL at ${POSTGRES.tried})`, () => body(''));
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
