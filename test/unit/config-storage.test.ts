// loadConfig and storage: DATABASE_URL (PostgreSQL or an embedded PGlite directory), DATABASE_SCHEMA and a Redis Cluster's REDIS_URL, refused without echoing.
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';
import { describeRedisTarget, parseRedisTarget, REDIS_URL_FORMS } from '../../src/config/redis-target';

/** The ConfigError drawn by `env` on top of strong secrets. */
function storageError(env: Record<string, string | undefined>) {
  return configError({ ...STRONG, ...env });
}

function load(env: Record<string, string | undefined>): Config {
  return loadConfig({ ...STRONG, ...env }).config;
}

const URL_FORMS =
  'DATABASE_URL: must be a postgres:// or postgresql:// URL with a host, such as postgres://user:password@host:5432/db, or file: and a directory for an embedded database, such as file:./data/auth';
const NO_DIRECTORY = 'DATABASE_URL: must name a directory after file:, such as file:./data/auth or file:/var/lib/auth';
const NOT_AN_IDENTIFIER =
  'DATABASE_SCHEMA: must be a plain lower-case SQL identifier: a letter a-z or "_", then up to 62 letters a-z, digits or "_"';

describe('DATABASE_URL', () => {
  it('leaves the database off when unset or empty, whatever DATABASE_SCHEMA says', () => {
    expect(load({}).database).toBeNull();
    expect(load({ DATABASE_URL: '' }).database).toBeNull();
    expect(load({ DATABASE_SCHEMA: 'shop_auth' }).database).toBeNull();
  });

  it.each(['postgres://auth:pw@db.internal:5432/app', 'postgresql://auth:pw@db.internal/app?sslmode=require', 'postgres://[::1]:5432/app'])(
    'takes %s as PostgreSQL, in the schema "auth" by default',
    (url) => {
      expect(load({ DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url, schema: 'auth' });
    },
  );

  it.each([
    ['file:./data/auth', path.resolve('data/auth')],
    ['file:data', path.resolve('data')],
    ['file:/var/lib/auth', '/var/lib/auth'],
    ['file:///var/lib/auth', '/var/lib/auth'],
  ])('takes %s as an embedded PGlite database in %s', (url, directory) => {
    const { database } = load({ DATABASE_URL: url });
    expect(database).toEqual({ kind: 'pglite', directory, schema: 'auth' });
    expect(path.isAbsolute((database as { directory: string }).directory)).toBe(true);
  });

  it('keeps Redis alongside the database when both are set', () => {
    const config = load({ DATABASE_URL: 'postgres://db.internal/app', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://db.internal/app', schema: 'auth' });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'auth:' });
  });

  it.each([
    'mysql://u:secret@h/db',
    'redis://u:secret@h:6379',
    'postgres:///secret',
    'postgres://u:secret@',
    'secret-host:5432/db',
    'FILE:./secret',
  ])('refuses %j, naming the variable and the accepted forms, never the value', (url) => {
    const error = storageError({ DATABASE_URL: url });
    expect(error.problems).toEqual([URL_FORMS]);
    expect(error.message).not.toContain('secret');
  });

  it.each(['file:', 'file:   ', 'file://secret', 'file://./secret'])('refuses %j: no directory, or a host where a directory belongs', (url) => {
    const error = storageError({ DATABASE_URL: url });
    expect(error.problems).toEqual([NO_DIRECTORY]);
    expect(error.message).not.toContain('secret');
  });
});

describe('DATABASE_SCHEMA', () => {
  it.each(['shop_auth', '_auth', 'a', `a${'b'.repeat(62)}`])('accepts %j', (schema) => {
    expect(load({ DATABASE_URL: 'file:./data/auth', DATABASE_SCHEMA: schema }).database?.schema).toBe(schema);
  });

  it.each(['Bad-Name', 'Auth', 'auth-server', '1auth', 'auth.users', 'a b', `a${'b'.repeat(63)}`, 'auth;drop'])(
    'refuses %j as not a plain lower-case SQL identifier',
    (schema) => {
      const error = storageError({ DATABASE_URL: 'postgres://db.internal/app', DATABASE_SCHEMA: schema });
      expect(error.problems).toEqual([NOT_AN_IDENTIFIER]);
    },
  );

  it('refuses a name PostgreSQL reserves (pg_…)', () => {
    expect(storageError({ DATABASE_SCHEMA: 'pg_auth' }).problems).toEqual(['DATABASE_SCHEMA: must not start with pg_ (PostgreSQL reserves those names)']);
  });
});

it('lists a bad DATABASE_URL and a bad DATABASE_SCHEMA in one message, with the other problems', () => {
  const error = storageError({ PORT: 'abc', DATABASE_URL: 'mysql://u:secret@h/db', DATABASE_SCHEMA: 'Bad-Name' });
  expect(error.problems).toEqual([expect.stringMatching(/^PORT: /), URL_FORMS, NOT_AN_IDENTIFIER]);
  expect(error.message).toBe(`Invalid configuration:\n${error.problems.map((problem) => `  - ${problem}`).join('\n')}`);
  expect(error.message).not.toContain('secret');
});

it('freezes the database settings with the rest of the config', () => {
  const { database } = load({ DATABASE_URL: 'file:./data/auth' });
  expect(Object.isFrozen(database)).toBe(true);
  expect(() => {
    (database as { directory: string }).directory = '/tmp/elsewhere';
  }).toThrow(TypeError);
});

describe('REDIS_URL for a Redis Cluster', () => {
  const FORMS = `REDIS_URL: ${REDIS_URL_FORMS}`;

  it.each([
    'redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000',
    'rediss+cluster://auth:pw@cache-1.internal:6380,cache-2.internal:6380/0',
    'redis+cluster://[::1]:7000',
  ])('takes %s as it is, with the default key prefix', (url) => {
    expect(load({ REDIS_URL: url }).redis).toEqual({ url, keyPrefix: 'auth:' });
  });

  it('reads the nodes, the credentials (percent-decoded) and TLS from the URL', () => {
    expect(parseRedisTarget('rediss+cluster://auth:p%40ss@cache-1.internal:6380,[::1],10.0.0.3:7000/')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'cache-1.internal', port: 6380 },
        { host: '::1', port: 6379 },
        { host: '10.0.0.3', port: 7000 },
      ],
      username: 'auth',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisTarget('redis+cluster://:secret@10.0.0.1:7000')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '10.0.0.1', port: 7000 }],
      username: undefined,
      password: 'secret',
      tls: false,
    });
    expect(parseRedisTarget('redis://:secret@10.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://:secret@10.0.0.1:6379/2' });
  });

  it.each([
    'redis+cluster://',
    'redis+cluster://:secret@',
    'redis+cluster://secret-host:7000,',
    'redis+cluster://secret-host:70000',
    'redis+cluster://secret-host:7000/2',
    'redis+cluster://secret-host:7000?secret=1',
    'redis+cluster:secret-host:7000',
    'redis+sentinel://secret-host:7000',
  ])('refuses %j, naming the variable and the accepted forms, never the value', (url) => {
    const error = storageError({ REDIS_URL: url });
    expect(error.problems).toEqual([FORMS]);
    expect(error.message).not.toContain('secret');
  });

  it('shows the nodes of a cluster URL in messages, never its credentials', () => {
    expect(describeRedisTarget('rediss+cluster://auth:secret@cache-1.internal:6380,[::1]:7000')).toBe('rediss+cluster://cache-1.internal:6380,[::1]:7000');
  });

  it('refuses a REDIS_KEY_PREFIX holding "{}": the hash tags that keep a script\'s keys in one slot would not work', () => {
    expect(storageError({ REDIS_URL: 'redis+cluster://10.0.0.1:7000', REDIS_KEY_PREFIX: 'shop{}:' }).problems).toEqual([
      'REDIS_KEY_PREFIX: must not contain "{}" (Redis Cluster hash tags)',
    ]);
    expect(load({ REDIS_URL: 'redis+cluster://10.0.0.1:7000', REDIS_KEY_PREFIX: '{shop}:' }).redis?.keyPrefix).toBe('{shop}:');
  });
});
