// POST /password/change, /password/forgot and /password/reset: a password after registration.
import { Router, type RequestHandler } from 'express';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AccountService } from '../../auth/accounts';
import type { AccountMail } from '../../auth/account-mail';
import type { PasswordService } from '../../auth/password-service';
import type { SessionService } from '../../auth/session-service';
import { PASSWORD_AND_OTP, PASSWORD_ONLY, type AuthMethods } from '../../auth/tokens';
import type { BackgroundTasks } from '../../lib/background';
import type { Clock } from '../../lib/clock';
import { auditContext } from '../audit-context';
import { clientInfo } from '../client-info';
import { whenUndelivered } from '../delivery';
import { accountForLimits, type RateLimiters } from '../rate-limits';
import { defineRoute } from '../routing';
import { passwordChangeBody, passwordForgotBody, passwordResetBody } from '../schemas';
import { sendJson } from '../send-json';
import { sendTokens } from '../send-tokens';
import { parseBody, validBody } from '../validate';
import { requireMail } from './require-mail';

export interface PasswordRoutesDeps {
  accounts: AccountService;
  passwords: PasswordService;
  sessions: SessionService;
  mail: AccountMail;
  limiters: RateLimiters;
  verifyToken: RequestHandler;
  clock: Clock;
  background: BackgroundTasks;
  audit: AuditTrail;
}

/** The access token's `amr`, as the methods a new session may claim: only those this server grants. */
function sameProof(amr: readonly string[]): AuthMethods {
  return amr.includes('otp') ? PASSWORD_AND_OTP : PASSWORD_ONLY;
}

export function passwordRoutes({ accounts, passwords, sessions, mail, limiters, verifyToken, clock, background, audit }: PasswordRoutesDeps): Router {
  const router = Router();

  defineRoute(router, '/password/change', {
    post: [
      limiters.perAddress,
      verifyToken,
      limiters.passwordChanges,
      validBody(passwordChangeBody),
      accountForLimits((id) => accounts.findById(id)),
      limiters.failedLogins,
      async (req, res, next) => {
        const { current_password: current, new_password: fresh } = req.body as { current_password: string; new_password: string };
        const grant = await passwords.change(req.auth!.userId, current, fresh, clientInfo(req), sameProof(req.auth!.amr));
        // As at /login: a client that hung up never gets the new session's tokens, so it ends.
        whenUndelivered(res, () => sessions.end(grant.user.id, grant.sessionId), next);
        sendTokens(req, res, grant, clock);
        audit.record('password.changed', grant.user.id, auditContext(req));
      },
    ],
  });

  defineRoute(router, '/password/forgot', {
    post: [
      limiters.perAddress,
      requireMail(mail),
      (req, res) => {
        const { email } = parseBody(passwordForgotBody, req.body);
        // The answer goes first and is the same for every address; the look-up and the mail follow it.
        sendJson(res, 202, { status: 'accepted' });
        const context = auditContext(req, null);
        const at = clock.now();
        background.run('password reset request', async () => {
          const userId = await passwords.requestReset(email);
          if (userId) audit.record('password.reset_requested', userId, { ...context, actorId: userId }, {}, at);
        });
      },
    ],
  });

  defineRoute(router, '/password/reset', {
    post: [
      limiters.perAddress,
      requireMail(mail),
      async (req, res) => {
        const { token, new_password: newPassword } = parseBody(passwordResetBody, req.body);
        const userId = await passwords.reset(token, newPassword, req.ip ?? '');
        audit.record('password.reset', userId, auditContext(req, userId));
        res.status(204).end();
      },
    ],
  });

  return router;
}
