// loadConfig and the database: DATABASE_URL (PostgreSQL or an embedded PGlite directory) and DATABASE_SCHEMA, refused without echoing.
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';

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
