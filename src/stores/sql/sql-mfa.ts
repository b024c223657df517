// SQL TOTP factors: one row per user; every state change is one conditional statement, so concurrent calls cannot both win.
import { sql, type Selectable } from 'kysely';
import type { MfaFactorRecord, MfaStore } from '../types';
import { guarded, type SqlDatabase } from './database';
import type { MfaFactorsTable } from './schema';

export class SqlMfaStore implements MfaStore {
  constructor(private readonly database: SqlDatabase) {}

  private get db() {
    return this.database.db;
  }

  async get(userId: string): Promise<MfaFactorRecord | null> {
    const row = await guarded(() => this.db.selectFrom('mfa_factors').selectAll().where('user_id', '=', userId).executeTakeFirst());
    return row ? fromRow(row) : null;
  }

  /** An upsert that only overwrites a pending factor: a confirmed one makes it return no row. */
  async putPending(factor: MfaFactorRecord): Promise<'stored' | 'already_enabled'> {
    const pending = {
      secret_ciphertext: factor.secretCiphertext,
      confirmed: false,
      created_at: factor.createdAt,
      last_used_step: factor.lastUsedStep,
      recovery_code_hashes: [...factor.recoveryCodeHashes],
    };
    const row = await guarded(() =>
      this.db
        .insertInto('mfa_factors')
        .values({ user_id: factor.userId, ...pending })
        .onConflict((conflict) => conflict.column('user_id').doUpdateSet(pending).where('mfa_factors.confirmed', '=', false))
        .returning('user_id')
        .executeTakeFirst(),
    );
    return row ? 'stored' : 'already_enabled';
  }

  async confirm(userId: string, secretCiphertext: string, recoveryCodeHashes: readonly string[], step: number): Promise<boolean> {
    const result = await guarded(() =>
      this.db
        .updateTable('mfa_factors')
        .set({ confirmed: true, recovery_code_hashes: [...recoveryCodeHashes], last_used_step: step })
        .where('user_id', '=', userId)
        .where('confirmed', '=', false)
        .where('secret_ciphertext', '=', secretCiphertext)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  /** The condition is re-checked under the row lock, so of equal concurrent steps one updates. */
  async useStep(userId: string, step: number): Promise<boolean> {
    const result = await guarded(() =>
      this.db
        .updateTable('mfa_factors')
        .set({ last_used_step: step })
        .where('user_id', '=', userId)
        .where('confirmed', '=', true)
        .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const result = await guarded(() =>
      this.db
        .updateTable('mfa_factors')
        .set({ recovery_code_hashes: sql`array_remove(recovery_code_hashes, ${codeHash})` })
        .where('user_id', '=', userId)
        .where('confirmed', '=', true)
        .where(sql<boolean>`${codeHash} = any(recovery_code_hashes)`)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async delete(userId: string): Promise<boolean> {
    const result = await guarded(() => this.db.deleteFrom('mfa_factors').where('user_id', '=', userId).executeTakeFirst());
    return result.numDeletedRows > 0n;
  }
}

function fromRow(row: Selectable<MfaFactorsTable>): MfaFactorRecord {
  return {
    userId: row.user_id,
    secretCiphertext: row.secret_ciphertext,
    confirmed: row.confirmed,
    createdAt: row.created_at,
    lastUsedStep: row.last_used_step,
    recoveryCodeHashes: [...row.recovery_code_hashes],
  };
}
