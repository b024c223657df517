// SQL user store: one row per user; reads by id are kept in a local copy that the change feed keeps current.
import { sql, type Selectable, type Transaction } from 'kysely';
import type { UserChanges, UserPage, UserPageQuery, UserRecord, UserStore } from '../types';
import { checkPageLimit, decodeUserCursor, encodeUserCursor, pickUserChanges } from '../user-changes';
import { UserCopy } from '../user-copy';
import { changeChannel, type ChangeFeed } from './change-feed';
import { guarded, type SqlDatabase } from './database';
import type { Database, UsersTable } from './schema';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * GET /profile reads the caller's user on every request: the records read are kept (UserCopy),
 * trusted while the change feed is current. Every change announces the user on the feed, and this
 * instance drops its own copy before update() resolves.
 */
export class SqlUserStore implements UserStore {
  private readonly copy: UserCopy;

  constructor(
    private readonly database: SqlDatabase,
    private readonly feed: ChangeFeed,
  ) {
    this.copy = new UserCopy(feed);
    feed.onUserChanged((userId) => (userId === null ? this.copy.dropAll() : this.copy.drop(userId)));
  }

  async create(user: UserRecord): Promise<'created' | 'email_taken'> {
    try {
      await guarded(() => this.database.db.insertInto('users').values(toRow(user)).execute());
      return 'created';
    } catch (error) {
      // The unique index decides between concurrent creates: exactly one insert commits.
      if (causeCode(error) === UNIQUE_VIOLATION) return 'email_taken';
      throw error;
    }
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await guarded(() => this.database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst());
    return row ? fromRow(row) : null;
  }

  async findById(id: string): Promise<UserRecord | null> {
    return this.copy.read(id, async () => {
      const row = await guarded(() => this.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst());
      return row ? fromRow(row) : null;
    });
  }

  async update(id: string, changes: UserChanges, ifPasswordHash?: string): Promise<UserRecord | null> {
    const set = changedColumns(pickUserChanges(changes));
    const { database, feed } = this;
    // The copy is dropped inside the guarded call: a change committed after its caller got a 503
    // must not leave the old record served here.
    const row = await guarded(async () => {
      const updated = await database.db.transaction().execute(async (trx) => {
        const changed = Object.keys(set).length === 0
          ? await trx
              .selectFrom('users')
              .selectAll()
              .where('id', '=', id)
              .$if(ifPasswordHash !== undefined, (query) => query.where('password_hash', '=', ifPasswordHash!))
              .executeTakeFirst()
          : await trx
              .updateTable('users')
              .set(set)
              .where('id', '=', id)
              .$if(ifPasswordHash !== undefined, (query) => query.where('password_hash', '=', ifPasswordHash!))
              .returningAll()
              .executeTakeFirst();
        if (changed) await notifyUserChanged(database, trx, id);
        return changed;
      });
      feed.userChanged(id);
      return updated;
    });
    return row ? fromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    const { database, feed } = this;
    return guarded(async () => {
      const deleted = await database.db.transaction().execute(async (trx) => {
        const row = await trx.deleteFrom('users').where('id', '=', id).returning('id').executeTakeFirst();
        if (row) await notifyUserChanged(database, trx, id);
        return row !== undefined;
      });
      feed.userChanged(id);
      return deleted;
    });
  }

  async listPage({ limit, cursor, emailContains }: UserPageQuery): Promise<UserPage> {
    checkPageLimit(limit);
    const after = cursor ? decodeUserCursor(cursor) : null;
    const rows = await guarded(() => {
      let query = this.database.db.selectFrom('users').selectAll();
      // (created_at, id) > cursor: a row comparison the index on both columns serves.
      if (after) query = query.where(sql<boolean>`(created_at, id) > (${after.createdAt}::bigint, ${after.id})`);
      // strpos, not LIKE: the text is matched as it is, with no wildcard to escape.
      if (emailContains) query = query.where(sql<boolean>`strpos(email, ${emailContains}) > 0`);
      return query.orderBy('created_at').orderBy('id').limit(limit + 1).execute();
    });
    const users = rows.slice(0, limit).map(fromRow);
    const last = users[users.length - 1];
    return { users, nextCursor: rows.length > limit && last ? encodeUserCursor(last) : null };
  }
}

/** Announces the change to every instance when the transaction commits. */
async function notifyUserChanged(database: SqlDatabase, trx: Transaction<Database>, id: string): Promise<void> {
  await sql`select pg_notify(${changeChannel(database.target.schema)}, ${`u ${id}`})`.execute(trx);
}

function causeCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function changedColumns(changes: UserChanges): Partial<Omit<UsersTable, 'id' | 'email' | 'created_at'>> {
  const set: Partial<Omit<UsersTable, 'id' | 'email' | 'created_at'>> = {};
  if (changes.passwordHash !== undefined) set.password_hash = changes.passwordHash;
  if (changes.role !== undefined) set.role = changes.role;
  if (changes.emailVerified !== undefined) set.email_verified = changes.emailVerified;
  if (changes.disabled !== undefined) set.disabled = changes.disabled;
  if (changes.lastLoginAt !== undefined) set.last_login_at = changes.lastLoginAt;
  return set;
}

function toRow(user: UserRecord): UsersTable {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    password_hash: user.passwordHash,
    created_at: user.createdAt,
    email_verified: user.emailVerified,
    disabled: user.disabled,
    last_login_at: user.lastLoginAt,
  };
}

function fromRow(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    emailVerified: row.email_verified,
    disabled: row.disabled,
    lastLoginAt: row.last_login_at,
  };
}
