// Every storage backend the server supports, for suites that run once per backend: memory always, PostgreSQL and Redis when found (in CI, always), PGlite as asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/lib/logger';
import { createMemoryStores } from '../../src/stores/memory';
import { openSqlStores, type DatabaseTarget } from '../../src/stores/sql';
import type { Stores } from '../../src/stores/types';
import type { FakeClock } from './fake-clock';
import { describeWithPostgres, dropSchema, POSTGRES, uniqueSchema } from './postgres';
import { deleteKeys, describeWithRedis, openRedisStores, uniquePrefix } from './redis';

/** The server's default ACCESS_TOKEN_TTL: how long a store remembers an ended session as revoked. */
const ACCESS_TTL_MS = 15 * 60_000;

export interface StoreBackend {
  /** As the README names it: "memory", "PostgreSQL", "PGlite", "Redis". */
  name: string;
  /**
   * Opens stores on the backend, on `clock`, ready to serve, in storage of their own (a new
   * PostgreSQL schema, Redis key prefix or PGlite directory), as a new memory store is: counters,
   * users and sessions of one open never meet another's. Everything opened is closed, and
   * everything written removed, after the suite.
   */
  open(clock: FakeClock, accessTtlMs?: number): Promise<Stores>;
}

/**
 * Closes what a suite opened: stores opened by a test (or its beforeEach) after that test, those
 * of a beforeAll after the suite, then removes its storage. Kept to the suite's end, the stores
 * of a suite that opens a world per test held about 100 PostgreSQL connections at once, the
 * server's whole max_connections, and the machine's PostgreSQL is shared.
 */
function closing(cleanup: () => Promise<void> = async () => undefined) {
  const forSuite: Stores[] = [];
  const forTest: Stores[] = [];
  let inTest = false;
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    await Promise.all(forTest.splice(0).map((stores) => stores.close()));
  });
  afterAll(async () => {
    await Promise.all([...forSuite.splice(0), ...forTest.splice(0)].map((stores) => stores.close()));
    await cleanup();
  });
  return (stores: Stores) => {
    (inTest ? forTest : forSuite).push(stores);
    return stores;
  };
}

async function openSql(target: DatabaseTarget, clock: FakeClock, accessTtlMs: number): Promise<Stores> {
  const stores = await openSqlStores({ target, clock, accessTtlMs, logger: createLogger('silent') });
  await stores.whenReady(5000);
  return stores;
}

/**
 * Declares `body` once per backend, in a describe block named `${title} (${backend})`. Each open
 * on PostgreSQL gets a schema of its own and on Redis a key prefix of its own (about 130 ms and
 * 30 ms here), all dropped afterwards; without the service they are skipped with a line saying
 * so, and fail in CI (see services.ts). PGlite
 * runs the same SQL store in-process, but opening one takes seconds (about 12 on a busy two-core
 * machine): `pglite: 'without-postgres'` runs it only where no PostgreSQL answers, so that the SQL
 * store is covered on every machine; `pglite: 'never'` is for suites that open stores by the dozen
 * (PostgreSQL in CI covers the SQL store for them).
 */
export function describeEachBackend(
  title: string,
  body: (backend: StoreBackend) => void,
  options: { pglite: 'always' | 'without-postgres' | 'never' } = { pglite: 'always' },
): void {
  describe(`${title} (memory)`, () => {
    const keep = closing();
    body({ name: 'memory', open: async (clock) => keep(createMemoryStores(clock)) });
  });

  if (options.pglite === 'always' || (options.pglite === 'without-postgres' && !POSTGRES.url)) describePglite(title, body);

  describeWithPostgres(`${title} (PostgreSQL)`, (url) => {
    const schemas: string[] = [];
    const keep = closing(async () => {
      for (const schema of schemas.splice(0)) await dropSchema(url, schema);
    });
    body({
      name: 'PostgreSQL',
      async open(clock, accessTtlMs = ACCESS_TTL_MS) {
        const schema = uniqueSchema();
        schemas.push(schema);
        return keep(await openSql({ kind: 'postgres', url, schema }, clock, accessTtlMs));
      },
    });
  });

  describeWithRedis(`${title} (Redis)`, (url) => {
    const prefixes: string[] = [];
    const keep = closing(async () => {
      for (const prefix of prefixes.splice(0)) await deleteKeys(url, prefix);
    });
    body({
      name: 'Redis',
      async open(clock, accessTtlMs = ACCESS_TTL_MS) {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        return keep(await openRedisStores(url, prefix, clock, accessTtlMs));
      },
    });
  });
}

function describePglite(title: string, body: (backend: StoreBackend) => void): void {
  describe(`${title} (PGlite)`, () => {
    // PGlite needs no server: the SQL store runs on every machine, each open in a directory of its own.
    const directories: string[] = [];
    const keep = closing(async () => directories.splice(0).forEach((directory) => rmSync(directory, { recursive: true, force: true })));
    body({
      name: 'PGlite',
      async open(clock, accessTtlMs = ACCESS_TTL_MS) {
        const directory = mkdtempSync(join(tmpdir(), 'auth-backend-'));
        directories.push(directory);
        return keep(await openSql({ kind: 'pglite', directory, schema: 'auth' }, clock, accessTtlMs));
      },
    });
  });
}
