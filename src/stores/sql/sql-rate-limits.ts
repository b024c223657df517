// SQL fixed-window counters for the rate limiters: one row per key, shared by every instance on the database.
import { sql } from 'kysely';
import type { Clock } from '../../lib/clock';
import type { RateLimitCounter } from '../types';
import { guarded, qualifiedTable, type HotStatement, type SqlDatabase } from './database';

export class SqlRateLimitCounter implements RateLimitCounter {
  /** One upsert: a new window when the old one has ended, else one more hit; concurrent hits all count. */
  private readonly incrementStatement: HotStatement;

  constructor(
    private readonly database: SqlDatabase,
    private readonly clock: Clock,
  ) {
    // $1 key, $2 now, $3 the new window's end. Every login and registration runs it.
    this.incrementStatement = {
      name: 'auth_count_hit',
      text: `
      insert into ${qualifiedTable(database.target.schema, 'rate_limits')} as w (key, hits, reset_at) values ($1, 1, $3::bigint)
      on conflict (key) do update set
        hits = case when w.reset_at <= $2::bigint then 1 else w.hits + 1 end,
        reset_at = case when w.reset_at <= $2::bigint then $3::bigint else w.reset_at end
      returning hits, reset_at`,
    };
  }

  async increment(key: string, windowMs: number): Promise<{ totalHits: number; resetTime: Date }> {
    const now = this.clock.now();
    const rows = await guarded(() =>
      this.database.hot<{ hits: number; reset_at: number }>('counters', this.incrementStatement, [key, now, now + windowMs]),
    );
    const [window] = rows;
    return { totalHits: window!.hits, resetTime: new Date(window!.reset_at) };
  }

  async decrement(key: string): Promise<void> {
    await guarded(() =>
      this.database.counters.updateTable('rate_limits').set({ hits: sql`hits - 1` }).where('key', '=', key).where('hits', '>', 0).execute(),
    );
  }

  async resetKey(key: string): Promise<void> {
    await guarded(() => this.database.counters.deleteFrom('rate_limits').where('key', '=', key).execute());
  }

  /** Deletes windows that have ended. */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    await guarded(() => this.database.counters.deleteFrom('rate_limits').where('reset_at', '<=', now).execute());
  }
}
