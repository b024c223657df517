// In-memory TOTP factors: enrolment, confirmation, and the replay guards (last step, used recovery codes).
import type { MfaFactorRecord, MfaStore } from '../types';

/**
 * Every method decides and writes without an await in between, so each is one atomic step: of
 * concurrent calls with one step or one recovery code exactly one wins.
 */
export class MemoryMfaStore implements MfaStore {
  private readonly factors = new Map<string, MfaFactorRecord>();

  async get(userId: string): Promise<MfaFactorRecord | null> {
    const factor = this.factors.get(userId);
    return factor ? copy(factor) : null;
  }

  async putPending(factor: MfaFactorRecord): Promise<'stored' | 'already_enabled'> {
    if (this.factors.get(factor.userId)?.confirmed) return 'already_enabled';
    // Whatever the caller passed, what is stored here waits for its first code.
    this.factors.set(factor.userId, { ...copy(factor), confirmed: false });
    return 'stored';
  }

  async confirm(userId: string, secretCiphertext: string, recoveryCodeHashes: readonly string[], step: number): Promise<boolean> {
    const factor = this.factors.get(userId);
    // The secret names the enrolment: a code checked against an older, replaced secret confirms nothing.
    if (!factor || factor.confirmed || factor.secretCiphertext !== secretCiphertext) return false;
    this.factors.set(userId, { ...factor, confirmed: true, lastUsedStep: step, recoveryCodeHashes: [...recoveryCodeHashes] });
    return true;
  }

  async useStep(userId: string, step: number): Promise<boolean> {
    const factor = this.factors.get(userId);
    if (!factor?.confirmed) return false;
    if (factor.lastUsedStep !== null && step <= factor.lastUsedStep) return false;
    this.factors.set(userId, { ...factor, lastUsedStep: step });
    return true;
  }

  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const factor = this.factors.get(userId);
    if (!factor?.confirmed || !factor.recoveryCodeHashes.includes(codeHash)) return false;
    this.factors.set(userId, { ...factor, recoveryCodeHashes: factor.recoveryCodeHashes.filter((hash) => hash !== codeHash) });
    return true;
  }

  async delete(userId: string): Promise<boolean> {
    return this.factors.delete(userId);
  }
}

function copy(factor: MfaFactorRecord): MfaFactorRecord {
  return { ...factor, recoveryCodeHashes: [...factor.recoveryCodeHashes] };
}
