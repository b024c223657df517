// The mails of the account lifecycle: reset and verification links (at most one per MAIL_COOLDOWN) and security notices to the owner.
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import { passwordChangedMail, passwordResetMail, resetLink, sessionEndedMail, verificationLink, verificationMail } from '../mail/messages';
import type { Mailer } from '../mail/types';
import type { OneTimeTokenPurpose, RateLimitCounter, SessionRecord, UserRecord, UserStore } from '../stores/types';
import type { OneTimeTokens } from './one-time-tokens';

export interface AccountMailDeps {
  mailer: Mailer;
  tokens: OneTimeTokens;
  /** The shared counters: a cooldown holds across instances. */
  counters: RateLimitCounter;
  users: UserStore;
  config: Config['mail'];
  logger: Logger;
}

export class AccountMail {
  constructor(private readonly deps: AccountMailDeps) {}

  /** Whether mail goes anywhere (false only in production without SMTP_URL). */
  get enabled(): boolean {
    return this.deps.mailer.enabled;
  }

  /** Mails a reset link, unless one went to this user within MAIL_COOLDOWN. */
  async sendReset(user: UserRecord): Promise<void> {
    const { config, mailer, tokens } = this.deps;
    if (!(await this.takeCooldown(user, 'password_reset'))) return;
    const token = await tokens.issue(user.id, 'password_reset', config.passwordResetTtlMs);
    mailer.send(passwordResetMail({ to: user.email, link: resetLink(config.appUrl, token), ttlMs: config.passwordResetTtlMs }));
  }

  /** Mails a verification link, unless one went to this user within MAIL_COOLDOWN. */
  async sendVerification(user: UserRecord): Promise<void> {
    const { config, mailer, tokens } = this.deps;
    if (!(await this.takeCooldown(user, 'email_verification'))) return;
    const token = await tokens.issue(user.id, 'email_verification', config.emailVerificationTtlMs);
    mailer.send(verificationMail({ to: user.email, link: verificationLink(config.appUrl, token), ttlMs: config.emailVerificationTtlMs }));
  }

  /**
   * Tells the owner their password was changed or reset: the one warning a hijacked account gives.
   * Notices go to verified addresses only, here and below: anyone may register someone else's
   * address, and must not be able to make this server mail its owner at will.
   */
  notifyPasswordChanged(user: UserRecord, how: 'changed' | 'reset', at: number): void {
    if (user.emailVerified) this.deps.mailer.send(passwordChangedMail({ to: user.email, how, at }));
  }

  /** Tells the owner a replayed refresh token ended one of their sessions (a stolen token, or a client that lost its newest one). */
  async notifySessionEnded(session: SessionRecord, at: number): Promise<void> {
    const user = await this.deps.users.findById(session.userId);
    if (user?.emailVerified) this.deps.mailer.send(sessionEndedMail({ to: user.email, at, userAgent: session.userAgent, ip: session.ip }));
  }

  /** True for the first mail of its kind to the user in the cooldown window, counted in the shared store. */
  private async takeCooldown(user: UserRecord, purpose: OneTimeTokenPurpose): Promise<boolean> {
    const { totalHits } = await this.deps.counters.increment(`mail-cooldown:${purpose}:${user.id}`, this.deps.config.cooldownMs);
    if (totalHits > 1) this.deps.logger.info({ userId: user.id, purpose }, 'mail skipped: cooldown');
    return totalHits === 1;
  }
}
