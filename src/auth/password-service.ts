// Passwords after registration: change (signed in), forgot (a reset link by mail) and reset (with that link).
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { SessionStore, UserRecord, UserStore } from '../stores/types';
import type { AccountMail } from './account-mail';
import type { OneTimeTokens } from './one-time-tokens';
import type { PasswordHasher } from './passwords';
import type { ClientInfo, SessionService, TokenGrant } from './session-service';

export interface PasswordServiceDeps {
  users: UserStore;
  sessionStore: SessionStore;
  sessions: SessionService;
  hasher: PasswordHasher;
  tokens: OneTimeTokens;
  mail: AccountMail;
  clock: Clock;
  logger: Logger;
}

/**
 * The user's record after checking their password, for the routes that ask for it again (a change,
 * a deletion). A wrong one is 401 invalid_credentials, which the route counts as a failed login.
 */
export async function confirmPassword(
  deps: Pick<PasswordServiceDeps, 'users' | 'hasher'>,
  userId: string,
  password: string,
  clientIp: string,
): Promise<UserRecord> {
  const user = await deps.users.findById(userId);
  // The user was deleted while the token lived: the token stands for nobody.
  if (!user) throw new AppError('invalid_token', { description: 'token revoked' });
  if (!(await deps.hasher.verify(password, user.passwordHash, clientIp))) throw new AppError('invalid_credentials');
  return user;
}

export class PasswordService {
  constructor(private readonly deps: PasswordServiceDeps) {}

  /**
   * Replaces the password of a signed-in user who knows the current one, ends every session of
   * theirs and opens a new one, whose tokens it returns: whoever held another session (a thief
   * with a copy of a token) is out, the user stays in.
   */
  async change(userId: string, currentPassword: string, newPassword: string, client: ClientInfo): Promise<TokenGrant> {
    const { users, hasher, sessionStore, sessions, tokens, mail, clock, logger } = this.deps;
    const user = await confirmPassword(this.deps, userId, currentPassword, client.ip);
    const passwordHash = await hasher.hash(newPassword, client.ip);
    const updated = await users.update(user.id, { passwordHash });
    if (!updated) throw new AppError('invalid_token', { description: 'token revoked' });
    // A reset link mailed before the change would undo it: void them all.
    await tokens.voidAll(user.id, 'password_reset');
    const ended = await sessionStore.endAllForUser(user.id);
    logger.info({ userId: user.id, sessionsEnded: ended }, 'password changed');
    mail.notifyPasswordChanged(updated, 'changed', clock.now());
    return sessions.openSession(updated, client);
  }

  /**
   * Mails a reset link when the address belongs to an account. The route answers before calling
   * this, so the answer is the same, in content and in time, for every address.
   */
  async requestReset(email: string): Promise<void> {
    const { users, mail, logger } = this.deps;
    const user = await users.findByEmail(email);
    if (!user) return;
    logger.info({ userId: user.id }, 'password reset requested');
    await mail.sendReset(user);
  }

  /**
   * Sets a new password with a reset link's token and ends every session of the user. Following
   * the link proves the address too, so an unverified address becomes verified.
   */
  async reset(token: string, newPassword: string, clientIp: string): Promise<void> {
    const { users, hasher, sessionStore, tokens, mail, clock, logger } = this.deps;
    const record = await tokens.redeem(token, 'password_reset');
    const passwordHash = await hasher.hash(newPassword, clientIp);
    const updated = await users.update(record.userId, { passwordHash, emailVerified: true });
    // The account was deleted after the mail went out: the link leads nowhere.
    if (!updated) throw new AppError('invalid_grant', { status: 400, description: 'The reset link is invalid, used or expired; ask for a new one.' });
    await tokens.voidAll(updated.id, 'password_reset');
    const ended = await sessionStore.endAllForUser(updated.id);
    logger.info({ userId: updated.id, sessionsEnded: ended }, 'password reset');
    mail.notifyPasswordChanged(updated, 'reset', clock.now());
  }
}
