// Passwords after registration: change (signed in), forgot (a reset link by mail) and reset (with that link).
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { SessionStore, UserRecord, UserStore } from '../stores/types';
import type { AccountMail } from './account-mail';
import type { OneTimeTokens } from './one-time-tokens';
import type { PasswordHasher } from './passwords';
import type { ClientInfo, SessionService, TokenGrant } from './session-service';
import type { AuthMethods } from './tokens';

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
  if (!user) throw revoked();
  if (!(await deps.hasher.verify(password, user.passwordHash, clientIp))) throw new AppError('invalid_credentials');
  return user;
}

/** A Bearer token whose user is gone: 401 invalid_token, "token revoked" (the challenge is built by the error handler). */
export function revoked(): AppError {
  return new AppError('invalid_token', { description: 'token revoked' });
}

export class PasswordService {
  constructor(private readonly deps: PasswordServiceDeps) {}

  /**
   * Replaces the password of a signed-in user who knows the current one, ends every session of
   * theirs and opens a new one, whose tokens it returns: whoever held another session (a thief
   * with a copy of a token) is out, the user stays in.
   */
  async change(userId: string, currentPassword: string, newPassword: string, client: ClientInfo, amr: AuthMethods): Promise<TokenGrant> {
    const { users, hasher, sessionStore, sessions, tokens, mail, clock, logger } = this.deps;
    const user = await confirmPassword(this.deps, userId, currentPassword, client.ip);
    const passwordHash = await hasher.hash(newPassword, client.ip);
    // Only over the hash just checked: a reset that landed meanwhile wins, and this change is refused.
    const updated = await users.update(user.id, { passwordHash }, user.passwordHash);
    if (!updated) {
      if (!(await users.findById(user.id))) throw revoked();
      throw new AppError('invalid_credentials', { description: 'The password changed meanwhile; log in again.' });
    }
    // A reset link mailed before the change would undo it, and a sign-in waiting for its second
    // factor was made with the old password: void them all.
    await tokens.voidAll(user.id, 'password_reset');
    await tokens.voidAll(user.id, 'mfa_challenge');
    const ended = await sessionStore.endAllForUser(user.id);
    logger.info({ userId: user.id, sessionsEnded: ended }, 'password changed');
    mail.notifyPasswordChanged(updated, 'changed', clock.now());
    // The new session stands on the same proof as the one the change was made in.
    return sessions.openSession(updated, client, amr);
  }

  /**
   * Mails a reset link when the address belongs to an account, and returns its id (null: no
   * account). The route answers before calling this, so the answer is the same, in content and in
   * time, for every address.
   */
  async requestReset(email: string): Promise<string | null> {
    const { users, mail, logger } = this.deps;
    const user = await users.findByEmail(email);
    if (!user) return null;
    logger.info({ userId: user.id }, 'password reset requested');
    await mail.sendReset(user);
    return user.id;
  }

  /**
   * Sets a new password with a reset link's token, ends every session of the user, and returns its
   * id. Following the link proves the address too, so an unverified address becomes verified.
   */
  async reset(token: string, newPassword: string, clientIp: string): Promise<string> {
    const { users, hasher, sessionStore, tokens, mail, clock, logger } = this.deps;
    const record = await tokens.redeem(token, 'password_reset');
    // Redeemed first, so a made-up token costs no hash; a hash that fails (the queue full) gives the link back.
    const passwordHash = await tokens.keepOnFailure(record, () => hasher.hash(newPassword, clientIp));
    const updated = await users.update(record.userId, { passwordHash, emailVerified: true });
    // The account was deleted after the mail went out: the link leads nowhere.
    if (!updated) throw new AppError('invalid_grant', { status: 400, description: 'The reset link is invalid, used or expired; ask for a new one.' });
    await tokens.voidAll(updated.id, 'password_reset');
    await tokens.voidAll(updated.id, 'mfa_challenge');
    const ended = await sessionStore.endAllForUser(updated.id);
    logger.info({ userId: updated.id, sessionsEnded: ended }, 'password reset');
    mail.notifyPasswordChanged(updated, 'reset', clock.now());
    return updated.id;
  }
}
