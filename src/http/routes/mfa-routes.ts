// POST/DELETE /mfa/totp, POST /mfa/totp/confirm and POST /login/mfa: the second factor over HTTP.
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AccountService } from '../../auth/accounts';
import type { MfaService } from '../../auth/mfa-service';
import type { SessionService } from '../../auth/session-service';
import { PASSWORD_AND_OTP } from '../../auth/tokens';
import { AppError } from '../../errors';
import type { Clock } from '../../lib/clock';
import { auditContext } from '../audit-context';
import { bearerError } from '../bearer';
import { clientInfo } from '../client-info';
import { whenUndelivered } from '../delivery';
import { accountForLimits, type RateLimiters } from '../rate-limits';
import { defineRoute, onRouteError } from '../routing';
import { emptyBody, loginMfaBody, totpConfirmBody, totpDeleteBody } from '../schemas';
import { sendJson } from '../send-json';
import { sendTokens } from '../send-tokens';
import { parseBody, validBody } from '../validate';

export interface MfaRoutesDeps {
  accounts: AccountService;
  mfa: MfaService;
  sessions: SessionService;
  limiters: RateLimiters;
  verifyToken: RequestHandler;
  clock: Clock;
  audit: AuditTrail;
}

/** Records a wrong second-factor code (at sign-in, the user the mfa_token names; elsewhere the caller), then passes the error on. */
function auditWrongCode(audit: AuditTrail): ErrorRequestHandler {
  return (error, req, res, next) => {
    const userId = (res.locals.mfaUserId as string | undefined) ?? req.auth?.userId;
    if (error instanceof AppError && error.code === 'invalid_mfa_code' && userId) audit.record('mfa.failed', userId, auditContext(req, userId));
    next(error);
  };
}

export function mfaRoutes({ accounts, mfa, sessions, limiters, verifyToken, clock, audit }: MfaRoutesDeps): Router {
  const router = Router();

  defineRoute(router, '/mfa/totp', {
    post: [
      verifyToken,
      async (req, res) => {
        parseBody(emptyBody, req.body ?? {});
        const user = await accounts.findById(req.auth!.userId);
        if (!user) throw bearerError('invalid_token', 'token revoked');
        const { secret, otpauthUri } = await mfa.enrol(user);
        sendJson(res, 200, { secret, otpauth_uri: otpauthUri });
      },
    ],
    delete: [
      verifyToken,
      validBody(totpDeleteBody),
      // A wrong code here is a wrong code at sign-in: it counts against the same budget.
      accountForLimits((id) => accounts.findById(id)),
      limiters.failedLogins,
      async (req, res) => {
        await mfa.disable(req.auth!.userId, (req.body as { code: string }).code);
        res.status(204).end();
        audit.record('mfa.disabled', req.auth!.userId, auditContext(req));
      },
      onRouteError(auditWrongCode(audit)),
    ],
  });

  defineRoute(router, '/mfa/totp/confirm', {
    post: [
      verifyToken,
      async (req, res) => {
        const { code } = parseBody(totpConfirmBody, req.body);
        const recoveryCodes = await mfa.confirm(req.auth!.userId, code);
        sendJson(res, 200, { recovery_codes: recoveryCodes });
        audit.record('mfa.enabled', req.auth!.userId, auditContext(req));
      },
      onRouteError(auditWrongCode(audit)),
    ],
  });

  defineRoute(router, '/login/mfa', {
    post: [
      limiters.perAddress,
      async (req, res, next) => {
        req.body = parseBody(loginMfaBody, req.body);
        // The account the limiter counts against: the one the mfa_token names (its signature
        // checked, nothing used up), so wrong codes share the budget of wrong passwords.
        const { userId } = mfa.readChallenge((req.body as { mfa_token: string }).mfa_token);
        res.locals.mfaUserId = userId;
        const user = await accounts.findById(userId);
        res.locals.limitEmail = user?.email ?? `deleted:${userId}`;
        next();
      },
      limiters.failedLogins,
      async (req, res, next) => {
        const { mfa_token: mfaToken, code } = req.body as { mfa_token: string; code: string };
        const userId = await mfa.completeChallenge(mfaToken, code);
        const user = await accounts.findById(userId);
        if (!user) throw new AppError('invalid_grant', { description: 'The sign-in is used or expired; log in again.' });
        const grant = await sessions.openSession(user, clientInfo(req), PASSWORD_AND_OTP);
        // As at /login: a client that hung up never gets these tokens, so the session ends.
        whenUndelivered(res, () => sessions.end(grant.user.id, grant.sessionId), next);
        sendTokens(req, res, grant, clock);
        audit.record('login.succeeded', user.id, auditContext(req, user.id), { amr: 'pwd otp' });
      },
      onRouteError(auditWrongCode(audit)),
    ],
  });

  return router;
}
