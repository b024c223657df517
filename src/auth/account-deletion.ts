// Deleting an account, by its owner (with the password) or by an admin: the user, then every session, second factor and outstanding link of theirs.
import type { Logger } from '../lib/logger';
import type { MfaStore, OneTimeTokenStore, SessionStore, UserStore } from '../stores/types';
import type { PasswordHasher } from './passwords';
import { confirmPassword } from './password-service';

export interface AccountDeletionDeps {
  users: UserStore;
  sessions: SessionStore;
  mfa: MfaStore;
  oneTimeTokens: OneTimeTokenStore;
  hasher: PasswordHasher;
  logger: Logger;
}

export class AccountDeletionService {
  constructor(private readonly deps: AccountDeletionDeps) {}

  /** Deletes the caller's own account after checking its password; a wrong one is 401 invalid_credentials. */
  async deleteOwn(userId: string, password: string, clientIp: string): Promise<void> {
    await confirmPassword(this.deps, userId, password, clientIp);
    await this.remove(userId);
  }

  /**
   * Deletes the account and everything of it; false when there was no such user. The user goes
   * first, so the email is free at once and a login still checking its password cannot keep a
   * session (see SessionService.openSession); then every session (their access tokens fail at
   * once), factor and link.
   */
  async remove(userId: string): Promise<boolean> {
    const { users, sessions, mfa, oneTimeTokens, logger } = this.deps;
    const existed = await users.delete(userId);
    const ended = await sessions.endAllForUser(userId);
    await mfa.delete(userId);
    for (const purpose of ['password_reset', 'email_verification', 'mfa_challenge'] as const) await oneTimeTokens.deleteForUser(userId, purpose);
    if (existed) logger.info({ userId, sessionsEnded: ended }, 'account deleted');
    return existed;
  }
}
