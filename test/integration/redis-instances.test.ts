// Two app instances on one Redis, in one process: the shared-instances suite on a real Redis, under a key prefix of its own.
import { deleteKeys, describeWithRedis, openRedisStores, uniquePrefix } from '../helpers/redis';
import { runSharedInstancesSuite } from './shared-instances.suite';

describeWithRedis('Redis', (url) => {
  const prefix = uniquePrefix();
  runSharedInstancesSuite({
    name: 'Redis',
    url,
    open: (target, clock) => openRedisStores(target, prefix, clock),
    cleanup: () => deleteKeys(url, prefix),
  });
});
