// The first schema: users, sessions and their revocations, rate-limit windows, one-time tokens, TOTP factors.
import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Times are bigint milliseconds from the server's clock, never the database's now(): the stores
 * answer on the injected clock, as the memory and Redis ones do. No foreign keys between users and
 * the rest: ending sessions and removing factors is the services' job (they must also announce
 * each ended session to every instance), and the store contract keeps the stores independent.
 */
export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('email', 'text', (col) => col.notNull().unique())
      .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('user', 'admin')`))
      .addColumn('password_hash', 'text', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('email_verified', 'boolean', (col) => col.notNull().defaultTo(false))
      .addColumn('disabled', 'boolean', (col) => col.notNull().defaultTo(false))
      .addColumn('last_login_at', 'bigint')
      .execute();
    // Paging walks users in creation order.
    await db.schema.createIndex('users_created_at_id').on('users').columns(['created_at', 'id']).execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('user_id', 'text', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('last_used_at', 'bigint', (col) => col.notNull())
      .addColumn('expires_at', 'bigint', (col) => col.notNull())
      .addColumn('user_agent', 'text', (col) => col.notNull())
      .addColumn('ip', 'text', (col) => col.notNull())
      .addColumn('refresh_jti', 'text', (col) => col.notNull())
      .addColumn('refresh_iat', 'bigint', (col) => col.notNull())
      .addColumn('previous_jti', 'text')
      .addColumn('rotated_at', 'bigint', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
    await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();

    await db.schema
      .createTable('revoked_sessions')
      .addColumn('session_id', 'text', (col) => col.primaryKey())
      .addColumn('revoked_until', 'bigint', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('revoked_sessions_until').on('revoked_sessions').column('revoked_until').execute();

    await db.schema
      .createTable('rate_limits')
      .addColumn('key', 'text', (col) => col.primaryKey())
      .addColumn('hits', 'integer', (col) => col.notNull())
      .addColumn('reset_at', 'bigint', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('rate_limits_reset_at').on('rate_limits').column('reset_at').execute();

    await db.schema
      .createTable('one_time_tokens')
      .addColumn('hash', 'text', (col) => col.primaryKey())
      .addColumn('purpose', 'text', (col) => col.notNull())
      .addColumn('user_id', 'text', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('expires_at', 'bigint', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('one_time_tokens_user').on('one_time_tokens').columns(['user_id', 'purpose']).execute();
    await db.schema.createIndex('one_time_tokens_expires_at').on('one_time_tokens').column('expires_at').execute();

    await db.schema
      .createTable('mfa_factors')
      .addColumn('user_id', 'text', (col) => col.primaryKey())
      .addColumn('secret_ciphertext', 'text', (col) => col.notNull())
      .addColumn('confirmed', 'boolean', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('last_used_step', 'bigint')
      .addColumn('recovery_code_hashes', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
      .execute();
  },

  async down(db: Kysely<unknown>) {
    for (const table of ['mfa_factors', 'one_time_tokens', 'rate_limits', 'revoked_sessions', 'sessions', 'users']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
