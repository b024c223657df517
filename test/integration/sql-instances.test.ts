// Two app instances on one PostgreSQL, in one process: the shared-instances suite on a real PostgreSQL, in a schema of its own.
import { createLogger } from '../../src/lib/logger';
import { openSqlStores } from '../../src/stores/sql';
import { describeWithPostgres, dropSchema, uniqueSchema } from '../helpers/postgres';
import { runSharedInstancesSuite } from './shared-instances.suite';

const ACCESS_TTL = 15 * 60_000;

describeWithPostgres('PostgreSQL', (url) => {
  const schema = uniqueSchema();
  runSharedInstancesSuite({
    name: 'PostgreSQL',
    url,
    async open(target, clock) {
      const stores = await openSqlStores({
        target: { kind: 'postgres', url: target, schema },
        clock,
        accessTtlMs: ACCESS_TTL,
        logger: createLogger('silent'),
      });
      await stores.whenReady(5000);
      return stores;
    },
    cleanup: () => dropSchema(url, schema),
  });
});
