// Development without SMTP_URL: each mail is written to the log, link included, instead of being sent.
import type { Logger } from '../lib/logger';
import type { Mailer, MailMessage } from './types';

/**
 * Logs each mail at info so a developer can copy its link from the console. The link goes under
 * `link`, not `token`: the logger redacts every `*.token` path. Never used in production, where
 * a link in the log would let anyone who reads the logs reset any password.
 */
export function logMailer(logger: Logger): Mailer {
  return {
    enabled: true,
    send(message: MailMessage): void {
      logger.info(
        { mail: { to: message.to, subject: message.subject, link: message.link } },
        `mail not sent (no SMTP_URL): ${message.subject}`,
      );
    },
    idle: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
