// Production without SMTP_URL: mail is off, and the mail routes answer 501 not_configured.
import type { Logger } from '../lib/logger';
import type { Mailer } from './types';

/**
 * Drops every mail. Routes check `enabled` first; what still arrives here (security notices) is
 * dropped with a single warning, so a misconfigured server says so once instead of on every event.
 */
export function disabledMailer(logger: Logger): Mailer {
  let warned = false;
  return {
    enabled: false,
    send(): void {
      if (warned) return;
      warned = true;
      logger.warn('mail is off (production without SMTP_URL): notices such as "your password was changed" are not sent');
    },
    idle: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
