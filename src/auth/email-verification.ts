// Email verification: the link mailed at registration (and again on request) proves the user owns the address.
import { AppError } from '../errors';
import type { Logger } from '../lib/logger';
import type { UserRecord, UserStore } from '../stores/types';
import type { AccountMail } from './account-mail';
import type { OneTimeTokens } from './one-time-tokens';
import { revoked } from './password-service';

export class EmailVerificationService {
  constructor(
    private readonly deps: { users: UserStore; tokens: OneTimeTokens; mail: AccountMail; logger: Logger },
  ) {}

  /** Mails a link to a new account, when mail is on (the route runs it after its answer). */
  async welcome(user: UserRecord): Promise<void> {
    if (this.deps.mail.enabled) await this.deps.mail.sendVerification(user);
  }

  /** Mails a new link to the signed-in user, unless the address is verified already or a link went out within MAIL_COOLDOWN. */
  async resend(userId: string): Promise<void> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw revoked();
    if (user.emailVerified) return;
    await this.deps.mail.sendVerification(user);
  }

  /** Marks the address of the link's user verified and returns the user as they now are. */
  async verify(token: string): Promise<UserRecord> {
    const record = await this.deps.tokens.redeem(token, 'email_verification');
    const user = await this.deps.users.update(record.userId, { emailVerified: true });
    if (!user) {
      throw new AppError('invalid_grant', { status: 400, description: 'The verification link is invalid, used or expired; ask for a new one.' });
    }
    this.deps.logger.info({ userId: user.id }, 'email verified');
    return user;
  }
}
