// SQL session store: one row per live session; rotation under a row lock; ending a session records and announces it in the same transaction.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../../lib/clock';
import { decideRotation, NO_REFRESH_LIMIT } from '../rotation';
import type { RotationOutcome, RotationPolicy, SessionRecord, SessionStore } from '../types';
import { changeChannel } from './change-feed';
import { guarded, qualifiedTable, type HotStatement, type SqlDatabase } from './database';
import type { Database, SessionsTable } from './schema';

/**
 * Ended sessions are remembered as revoked this much longer than their last access token lives,
 * so that a difference between two instances' clocks never forgets one early.
 */
export const REVOCATION_MARGIN_MS = 60_000;

/**
 * The columns a session row is read back with, named: PostgreSQL fixes the result shape of a named
 * prepared statement on each connection, and `returning *` would make every refresh fail with
 * "cached plan must not change result type" once a later migration added a column.
 */
const SESSION_COLUMNS: readonly (keyof SessionsTable)[] = [
  'id', 'user_id', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'ip', 'refresh_jti', 'refresh_iat',
  'previous_jti', 'rotated_at', 'refresh_window_start', 'refresh_count',
];

export interface SqlSessionStoreOptions {
  database: SqlDatabase;
  clock: Clock;
  /** Access token lifetime: how long an ended session must be remembered as revoked. */
  accessTtlMs: number;
  /** Told of every session this store ends, before the call that ended it returns. */
  onEnded(sessionId: string, revokedUntil: number): void;
}

/**
 * Expiry is decided on the injected clock (`expires_at`), as in memory; an expired row stays
 * until sweep() but is never answered. Ending a session deletes its row: nothing of it is left
 * to present again.
 */
export class SqlSessionStore implements SessionStore {
  /**
   * The common case of rotate() in one statement: the token presented is the current one, the
   * session is not idle and has refreshes left in its window (decideRotation() in rotation.ts, said
   * in SQL; in SET, every column named is its value before the update). The UPDATE's row lock
   * makes a concurrent rotation of the same token re-read the row once this one commits and match
   * nothing; it then takes the locked transaction and finds the grace case.
   * $1 id, $2 presented jti, $3 next jti, $4 next iat, $5 now, $6 limit window (ms), $7 limit max,
   * $8 idle timeout (ms) or null.
   */
  private readonly rotateStatement: HotStatement;

  constructor(private readonly options: SqlSessionStoreOptions) {
    const windowOver = 'refresh_window_start <= $5::bigint - $6::bigint';
    this.rotateStatement = {
      name: 'auth_rotate_session',
      text: `
      update ${qualifiedTable(options.database.target.schema, 'sessions')}
      set previous_jti = refresh_jti, refresh_jti = $3, refresh_iat = $4::bigint, rotated_at = $5::bigint, last_used_at = $5::bigint,
        refresh_window_start = case when ${windowOver} then $5::bigint else refresh_window_start end,
        refresh_count = case when ${windowOver} then 1 else refresh_count + 1 end
      where id = $1 and refresh_jti = $2 and expires_at > $5::bigint
        and (${windowOver} or refresh_count < $7::integer)
        and ($8::bigint is null or last_used_at > $5::bigint - $8::bigint)
      returning ${SESSION_COLUMNS.join(', ')}`,
    };
  }

  private get db() {
    return this.options.database.db;
  }

  async create(session: SessionRecord): Promise<void> {
    await guarded(() => this.db.insertInto('sessions').values(toRow(session)).execute());
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const now = this.options.clock.now();
    const row = await guarded(() =>
      this.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).where('expires_at', '>', now).executeTakeFirst(),
    );
    return row ? fromRow(row) : null;
  }

  async isActive(sessionId: string): Promise<boolean> {
    const now = this.options.clock.now();
    const row = await guarded(() =>
      this.db.selectFrom('sessions').select('id').where('id', '=', sessionId).where('expires_at', '>', now).executeTakeFirst(),
    );
    return row !== undefined;
  }

  async rotate(
    sessionId: string,
    presentedJti: string,
    next: { jti: string; iat: number },
    policy: RotationPolicy,
  ): Promise<RotationOutcome> {
    const { clock, onEnded } = this.options;
    const limit = policy.refreshLimit ?? NO_REFRESH_LIMIT;
    // The bookkeeping after the commit runs inside the guarded call: if the caller has been given
    // a 503 by then, the session has ended all the same, and this instance must know it.
    return guarded(async () => {
      const [rotated] = await this.options.database.hot<Selectable<SessionsTable>>('main', this.rotateStatement, [
        sessionId,
        presentedJti,
        next.jti,
        next.iat,
        clock.now(),
        limit.windowMs,
        limit.max,
        policy.idleTimeoutMs ?? null,
      ]);
      if (rotated) return { kind: 'rotated', session: fromRow(rotated) };

      let revokedUntil: number | null = null;
      const outcome = await this.db.transaction().execute(async (trx): Promise<RotationOutcome> => {
        // The row lock makes concurrent rotations of one session, on any instance, take turns:
        // each one decides on the state the one before it left.
        const row = await trx.selectFrom('sessions').selectAll().where('id', '=', sessionId).forUpdate().executeTakeFirst();
        const now = clock.now();
        if (!row || row.expires_at <= now) return { kind: 'no_session' };
        const session = fromRow(row);
        const decision = decideRotation(session, presentedJti, policy, now);

        switch (decision.kind) {
          case 'idle':
          case 'reused':
            revokedUntil = this.revokedUntil();
            await endSessions(trx, this.options.database, revokedUntil, sql`id = ${sessionId}`);
            return { kind: decision.kind, session };
          case 'rate_limited':
            return { kind: 'rate_limited', session, retryAfterMs: decision.retryAfterMs };
          case 'rotated':
          case 'grace': {
            const window = { last_used_at: now, refresh_window_start: decision.windowStart, refresh_count: decision.count };
            const chain =
              decision.kind === 'rotated'
                ? { previous_jti: row.refresh_jti, refresh_jti: next.jti, refresh_iat: next.iat, rotated_at: now }
                : {};
            const updated = await trx
              .updateTable('sessions')
              .set({ ...window, ...chain })
              .where('id', '=', sessionId)
              .returningAll()
              .executeTakeFirstOrThrow();
            return { kind: decision.kind, session: fromRow(updated) };
          }
        }
      });
      if ((outcome.kind === 'reused' || outcome.kind === 'idle') && revokedUntil !== null) onEnded(sessionId, revokedUntil);
      return outcome;
    });
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const now = this.options.clock.now();
    const rows = await guarded(() =>
      this.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
    );
    return rows.map(fromRow);
  }

  async end(sessionId: string): Promise<boolean> {
    const now = this.options.clock.now();
    const ended = await this.endWhere(sql`id = ${sessionId} and expires_at > ${now}::bigint`);
    return ended.length > 0;
  }

  async endAllForUser(userId: string, keepSessionId?: string): Promise<number> {
    const now = this.options.clock.now();
    const keep = keepSessionId === undefined ? sql`true` : sql`id <> ${keepSessionId}`;
    const ended = await this.endWhere(sql`user_id = ${userId} and expires_at > ${now}::bigint and ${keep}`);
    return ended.length;
  }

  /** Deletes expired sessions and revocations no access token can need any more. */
  async sweep(): Promise<void> {
    const now = this.options.clock.now();
    await guarded(() => this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute());
    await guarded(() => this.db.deleteFrom('revoked_sessions').where('revoked_until', '<=', now).execute());
  }

  /** Sessions ended and still within their revocation time, for a change feed (re)reading its copy. */
  async readRevoked(): Promise<{ sessionId: string; until: number }[]> {
    const now = this.options.clock.now();
    const rows = await guarded(() =>
      this.db.selectFrom('revoked_sessions').selectAll().where('revoked_until', '>', now).execute(),
    );
    return rows.map((row) => ({ sessionId: row.session_id, until: row.revoked_until }));
  }

  private revokedUntil(): number {
    return this.options.clock.now() + this.options.accessTtlMs + REVOCATION_MARGIN_MS;
  }

  private async endWhere(condition: ReturnType<typeof sql>): Promise<string[]> {
    const until = this.revokedUntil();
    // Told inside the guarded call, so that an end committed after its caller got a 503 is known here too.
    return guarded(async () => {
      const ended = await endSessions(this.db, this.options.database, until, condition);
      for (const sessionId of ended) this.options.onEnded(sessionId, until);
      return ended;
    });
  }
}

/**
 * Deletes the sessions matching `condition`, records each as revoked until `until` and notifies
 * every instance, in one statement: the notification leaves when its transaction commits.
 */
async function endSessions(
  executor: Kysely<Database>,
  database: SqlDatabase,
  until: number,
  condition: ReturnType<typeof sql>,
): Promise<string[]> {
  const { schema } = database.target;
  const sessions = sql.id(schema, 'sessions');
  const revoked = sql.id(schema, 'revoked_sessions');
  const result = await sql<{ session_id: string }>`
    with ended as (delete from ${sessions} where ${condition} returning id),
    recorded as (
      insert into ${revoked} as r (session_id, revoked_until)
      select id, ${until}::bigint from ended
      on conflict (session_id) do update set revoked_until = greatest(r.revoked_until, excluded.revoked_until)
      returning session_id
    )
    select session_id, pg_notify(${changeChannel(schema)}, ${`s ${until} `}::text || session_id) from recorded
  `.execute(executor);
  return result.rows.map((row) => row.session_id);
}

function toRow(session: SessionRecord): SessionsTable {
  return {
    id: session.id,
    user_id: session.userId,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    user_agent: session.userAgent,
    ip: session.ip,
    refresh_jti: session.refreshJti,
    refresh_iat: session.refreshIat,
    previous_jti: session.previousJti,
    rotated_at: session.rotatedAt,
    refresh_window_start: session.refreshWindowStart,
    refresh_count: session.refreshCount,
  };
}

function fromRow(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
    ip: row.ip,
    refreshJti: row.refresh_jti,
    refreshIat: row.refresh_iat,
    previousJti: row.previous_jti,
    rotatedAt: row.rotated_at,
    refreshWindowStart: row.refresh_window_start,
    refreshCount: row.refresh_count,
  };
}
