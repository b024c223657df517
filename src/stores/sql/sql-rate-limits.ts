// SQL fixed-window counters for the rate limiters: one row per key, shared by every instance on the database.
import { sql } from 'kysely';
import type { Clock } from '../../lib/clock';
import type { RateLimitCounter } from '../types';
import { guarded, type SqlDatabase } from './database';

export class SqlRateLimitCounter implements RateLimitCounter {
  constructor(
    private readonly database: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  /** One upsert: a new window when the old one has ended, else one more hit; concurrent hits all count. */
  async increment(key: string, windowMs: number): Promise<{ totalHits: number; resetTime: Date }> {
    const now = this.clock.now();
    const table = sql.id(this.database.target.schema, 'rate_limits');
    const { rows } = await guarded(() =>
      sql<{ hits: number; reset_at: number }>`
        insert into ${table} as w (key, hits, reset_at) values (${key}, 1, ${now + windowMs}::bigint)
        on conflict (key) do update set
          hits = case when w.reset_at <= ${now}::bigint then 1 else w.hits + 1 end,
          reset_at = case when w.reset_at <= ${now}::bigint then ${now + windowMs}::bigint else w.reset_at end
        returning hits, reset_at
      `.execute(this.database.db),
    );
    const [window] = rows;
    return { totalHits: window!.hits, resetTime: new Date(window!.reset_at) };
  }

  async decrement(key: string): Promise<void> {
    await guarded(() =>
      this.database.db.updateTable('rate_limits').set({ hits: sql`hits - 1` }).where('key', '=', key).where('hits', '>', 0).execute(),
    );
  }

  async resetKey(key: string): Promise<void> {
    await guarded(() => this.database.db.deleteFrom('rate_limits').where('key', '=', key).execute());
  }

  /** Deletes windows that have ended. */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    await guarded(() => this.database.db.deleteFrom('rate_limits').where('reset_at', '<=', now).execute());
  }
}
