// Which stores the configuration opens: a database for the records, and Redis for the rate-limit counters when both are set.
import request from 'supertest';
import { createLogger } from '../../src/lib/logger';
import { openStores } from '../../src/stores/open-stores';
import { RedisRateLimitCounter } from '../../src/stores/redis';
import { SqlRateLimitCounter, type SqlStores } from '../../src/stores/sql';
import type { Stores } from '../../src/stores/types';
import { buildTestApp } from '../helpers/build-app';
import { FakeClock } from '../helpers/fake-clock';
import { expectError, register } from '../helpers/fixtures';
import { describeWithPostgres, dropSchema, uniqueSchema } from '../helpers/postgres';
import { deleteKeys, describeWithRedis, inspector, uniquePrefix } from '../helpers/redis';
import { testConfig } from '../helpers/test-config';

describeWithPostgres('DATABASE_URL alone', (url) => {
  const schema = uniqueSchema();
  let stores: Stores | undefined;

  afterAll(async () => {
    await stores?.close();
    await dropSchema(url, schema);
  });

  it('keeps the rate-limit counters in the database, shared by every instance', async () => {
    const config = testConfig({ DATABASE_URL: url, DATABASE_SCHEMA: schema, LOGIN_RATE_LIMIT_MAX: '2' });
    stores = await openStores(config, { clock: new FakeClock(), logger: createLogger('silent') });
    expect(stores.rateLimits).toBeInstanceOf(SqlRateLimitCounter);
    const { app } = buildTestApp({ env: { DATABASE_URL: url, DATABASE_SCHEMA: schema, LOGIN_RATE_LIMIT_MAX: '2' }, stores });
    const { email } = await register(app);
    for (let i = 0; i < 2; i += 1) {
      expectError(await request(app).post('/login').send({ email, password: 'wrong password!' }), 401, 'invalid_credentials');
    }
    expectError(await request(app).post('/login').send({ email, password: 'wrong password!' }), 429, 'rate_limited');
    // The failed-login window of this (email, address) pair is a row of the table.
    const windows = await (stores as SqlStores).database.db.selectFrom('rate_limits').select(['key', 'hits']).execute();
    const failed = windows.filter((window) => window.key.includes(email));
    expect(failed).toHaveLength(1);
    expect(failed[0]!.hits).toBeGreaterThanOrEqual(2);
  });
});

describeWithPostgres('DATABASE_URL and REDIS_URL together', (url) => {
  describeWithRedis('with Redis', (redisUrl) => {
    const schema = uniqueSchema();
    const prefix = uniquePrefix();
    let stores: Stores | undefined;

    afterAll(async () => {
      await stores?.close();
      await dropSchema(url, schema);
      await deleteKeys(redisUrl, prefix);
    });

    it('keeps the records in the database and the rate-limit counters in Redis', async () => {
      const env = { DATABASE_URL: url, DATABASE_SCHEMA: schema, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix };
      stores = await openStores(testConfig(env), { clock: new FakeClock(), logger: createLogger('silent') });
      expect(stores.rateLimits).toBeInstanceOf(RedisRateLimitCounter);
      const { app } = buildTestApp({ env, stores });
      const { email, user } = await register(app);
      expectError(await request(app).post('/login').send({ email, password: 'wrong password!' }), 401, 'invalid_credentials');

      const sql = (stores as SqlStores).database.db;
      await expect(sql.selectFrom('users').select('email').where('id', '=', user.id).executeTakeFirst()).resolves.toEqual({ email });
      await expect(sql.selectFrom('rate_limits').selectAll().execute()).resolves.toEqual([]);
      const redis = inspector(redisUrl);
      try {
        const keys = await redis.keys(`${prefix}rate:*`);
        expect(keys.length).toBeGreaterThan(0);
        await expect(redis.keys(`${prefix}user*`)).resolves.toEqual([]);
      } finally {
        redis.disconnect();
      }
      await expect(stores.ping()).resolves.toBeUndefined();
    });
  });
});
