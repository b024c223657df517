// SQL one-time tokens: rows keyed by the token's hash, taken out by the one DELETE that answers.
import type { Selectable } from 'kysely';
import type { Clock } from '../../lib/clock';
import type { OneTimeTokenPurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../types';
import { guarded, type SqlDatabase } from './database';
import type { OneTimeTokensTable } from './schema';

export class SqlOneTimeTokenStore implements OneTimeTokenStore {
  constructor(
    private readonly database: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  async create(token: OneTimeTokenRecord): Promise<void> {
    await guarded(() =>
      this.database.db
        .insertInto('one_time_tokens')
        .values({
          hash: token.hash,
          purpose: token.purpose,
          user_id: token.userId,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        })
        .execute(),
    );
  }

  /** DELETE … RETURNING: of concurrent calls only the one whose delete found the row gets it. */
  async consume(hash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenRecord | null> {
    const now = this.clock.now();
    const row = await guarded(() =>
      this.database.db
        .deleteFrom('one_time_tokens')
        .where('hash', '=', hash)
        .where('purpose', '=', purpose)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst(),
    );
    return row ? fromRow(row) : null;
  }

  async deleteForUser(userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const now = this.clock.now();
    const rows = await guarded(() =>
      this.database.db
        .deleteFrom('one_time_tokens')
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .returning('expires_at')
        .execute(),
    );
    // Expired tokens were void already: only the outstanding ones count.
    return rows.filter((row) => row.expires_at > now).length;
  }

  async sweep(): Promise<void> {
    const now = this.clock.now();
    await guarded(() => this.database.db.deleteFrom('one_time_tokens').where('expires_at', '<=', now).execute());
  }
}

function fromRow(row: Selectable<OneTimeTokensTable>): OneTimeTokenRecord {
  return { hash: row.hash, purpose: row.purpose, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at };
}
