// POST /email/verify and /email/verify/resend: proving the user owns their address.
import { Router, type RequestHandler } from 'express';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AccountMail } from '../../auth/account-mail';
import type { EmailVerificationService } from '../../auth/email-verification';
import { auditContext } from '../audit-context';
import { userJson, type MfaStatus } from '../presenters';
import type { RateLimiters } from '../rate-limits';
import { defineRoute } from '../routing';
import { emailVerifyBody, emptyBody } from '../schemas';
import { sendJson } from '../send-json';
import { parseBody } from '../validate';
import { requireMail } from './require-mail';

export interface EmailRoutesDeps {
  verification: EmailVerificationService;
  mail: AccountMail;
  limiters: RateLimiters;
  verifyToken: RequestHandler;
  mfa: MfaStatus;
  audit: AuditTrail;
}

export function emailRoutes({ verification, mail, limiters, verifyToken, mfa, audit }: EmailRoutesDeps): Router {
  const router = Router();

  defineRoute(router, '/email/verify', {
    post: [
      limiters.perAddress,
      requireMail(mail),
      async (req, res) => {
        const { token } = parseBody(emailVerifyBody, req.body);
        const user = await verification.verify(token);
        audit.record('email.verified', user.id, auditContext(req, user.id));
        sendJson(res, 200, { user: userJson(user, await mfa.isEnabled(user.id)) });
      },
    ],
  });

  defineRoute(router, '/email/verify/resend', {
    post: [
      limiters.perAddress,
      verifyToken,
      requireMail(mail),
      async (req, res) => {
        parseBody(emptyBody, req.body);
        await verification.resend(req.auth!.userId);
        sendJson(res, 202, { status: 'accepted' });
      },
    ],
  });

  return router;
}
