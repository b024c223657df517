// Refuses the mail routes with 501 not_configured where mail goes nowhere (production without SMTP_URL).
import type { RequestHandler } from 'express';
import type { AccountMail } from '../../auth/account-mail';
import { AppError } from '../../errors';

export function requireMail(mail: AccountMail): RequestHandler {
  return function mailConfigured(_req, _res, next) {
    if (!mail.enabled) throw new AppError('not_configured', { description: 'Mail is not configured on this server (SMTP_URL).' });
    next();
  };
}
