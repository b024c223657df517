// The storage section: where the records live (PostgreSQL, an embedded PGlite directory, Redis) or, by default, in memory.
import path from 'node:path';
import { z } from 'zod';
import { parseRedisTarget, REDIS_URL_FORMS } from './redis-target';
import type { Parsed } from './fields';

export interface StorageConfig {
  /**
   * Shared stores for several instances; null keeps every store in this process's memory. `url`
   * names one Redis (redis://, rediss://) or a Redis Cluster (redis+cluster://, rediss+cluster://).
   */
  readonly redis: { readonly url: string; readonly keyPrefix: string } | null;
  /**
   * The database that holds the records, in the schema `schema`: a PostgreSQL server, or an
   * embedded PGlite in `directory` (absolute). Null: no database (memory, or Redis).
   */
  readonly database:
    | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
    | { readonly kind: 'pglite'; readonly directory: string; readonly schema: string }
    | null;
}

// Never echo the value: a Redis URL usually carries a password (the message names the forms only).
const redisUrl = () =>
  z
    .string()
    .optional()
    .refine((text) => text === undefined || parseRedisTarget(text) !== null, { error: REDIS_URL_FORMS });

type DatabaseLocation = { kind: 'postgres'; url: string } | { kind: 'pglite'; directory: string };

const PGLITE_PREFIX = 'file:';

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** postgres://… or postgresql://… (a server), or file:DIR (an embedded PGlite in that directory). */
function databaseUrl() {
  return z
    .string()
    .optional()
    .transform((text, ctx): DatabaseLocation | undefined => {
      if (text === undefined) return undefined;
      if (text.startsWith(PGLITE_PREFIX)) {
        const directory = text.slice(PGLITE_PREFIX.length);
        // "file:///srv/auth" reads the same as a path or as a URL; "file://data" would be the
        // directory /data as a path but the host "data" as a URL, so it is refused, not guessed.
        const ambiguous = directory.startsWith('//') && !directory.startsWith('///');
        if (directory.trim() === '' || ambiguous) {
          ctx.addIssue({
            code: 'custom',
            message: 'must name a directory after file:, such as file:./data/auth or file:/var/lib/auth',
          });
          return z.NEVER;
        }
        return { kind: 'pglite', directory: path.resolve(directory) };
      }
      if (isPostgresUrl(text)) return { kind: 'postgres', url: text };
      // Never echo the value: a database URL usually carries a password.
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a postgres:// or postgresql:// URL with a host, such as postgres://user:password@host:5432/db, or file: and a directory for an embedded database, such as file:./data/auth',
      });
      return z.NEVER;
    });
}

function schemaName() {
  return z
    .string()
    .default('auth')
    .transform((text, ctx) => {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(text)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a plain lower-case SQL identifier: a letter a-z or "_", then up to 62 letters a-z, digits or "_"',
        });
        return z.NEVER;
      }
      // PostgreSQL refuses to create a schema named pg_…: better said now than at the first migration.
      if (text.startsWith('pg_')) {
        ctx.addIssue({ code: 'custom', message: 'must not start with pg_ (PostgreSQL reserves those names)' });
        return z.NEVER;
      }
      return text;
    });
}

export const storageVariables = {
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: z
    .string()
    .default('auth:')
    .refine((text) => /^[\x21-\x7e]{1,64}$/.test(text), { message: 'must be 1 to 64 printable characters without spaces' })
    // On a cluster the keys' hash tags follow the prefix: "{}" in it would make Redis hash whole
    // names, and a script's keys would land in different slots.
    .refine((text) => !text.includes('{}'), { message: 'must not contain "{}" (Redis Cluster hash tags)' }),
  DATABASE_URL: databaseUrl(),
  DATABASE_SCHEMA: schemaName(),
};

export function storageSettings(e: Parsed<typeof storageVariables>): StorageConfig {
  return {
    redis: e.REDIS_URL === undefined ? null : { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX },
    database: e.DATABASE_URL === undefined ? null : { ...e.DATABASE_URL, schema: e.DATABASE_SCHEMA },
  };
}
