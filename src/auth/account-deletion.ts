// Deleting one's own account: the user, then every session, second factor and outstanding link of theirs.
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

  /**
   * Deletes the account after checking its password. The user goes first, so the email is free at
   * once and no new login can start; then every session (their access tokens fail at once), factor
   * and link. A wrong password is 401 invalid_credentials.
   */
  async deleteOwn(userId: string, password: string, clientIp: string): Promise<void> {
    const { users, sessions, mfa, oneTimeTokens, logger } = this.deps;
    await confirmPassword(this.deps, userId, password, clientIp);
    await users.delete(userId);
    const ended = await sessions.endAllForUser(userId);
    await mfa.delete(userId);
    await oneTimeTokens.deleteForUser(userId, 'password_reset');
    await oneTimeTokens.deleteForUser(userId, 'email_verification');
    logger.info({ userId, sessionsEnded: ended }, 'account deleted');
  }
}
