// The caller's own data: GET and DELETE /profile, GET /sessions, DELETE /sessions/:id.
import { Router, type RequestHandler } from 'express';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AccountDeletionService } from '../../auth/account-deletion';
import type { AccountService } from '../../auth/accounts';
import type { SessionService } from '../../auth/session-service';
import { auditContext } from '../audit-context';
import { bearerError } from '../bearer';
import { sessionJson, userJson, type MfaStatus } from '../presenters';
import { accountForLimits, type RateLimiters } from '../rate-limits';
import { defineRoute } from '../routing';
import { deleteProfileBody } from '../schemas';
import { sendJson } from '../send-json';
import { validBody } from '../validate';

export interface AccountRoutesDeps {
  accounts: AccountService;
  sessions: SessionService;
  verifyToken: RequestHandler;
  deletion: AccountDeletionService;
  limiters: RateLimiters;
  /** GET /profile's handlers, from profileHandlers(): the app's fast lane runs them too. */
  profile: RequestHandler[];
  mfa: MfaStatus;
  audit: AuditTrail;
}

/** GET /profile: the caller's own user. */
export function profileHandlers({ accounts, verifyToken, mfa }: Pick<AccountRoutesDeps, 'accounts' | 'verifyToken' | 'mfa'>): RequestHandler[] {
  return [
    verifyToken,
    async function showProfile(req, res) {
      // Side by side: the factor's status is usually a cached answer (see MfaService.isEnabled).
      const [user, mfaEnabled] = await Promise.all([accounts.findById(req.auth!.userId), mfa.isEnabled(req.auth!.userId)]);
      // A live session whose user is gone: the token no longer stands for anyone.
      if (!user) throw bearerError('invalid_token', 'token revoked');
      sendJson(res, 200, { user: userJson(user, mfaEnabled) });
    },
  ];
}

export function accountRoutes({ sessions, verifyToken, accounts, profile, deletion, limiters, audit }: AccountRoutesDeps): Router {
  const router = Router();

  defineRoute(router, '/profile', {
    get: profile,
    delete: [
      limiters.perAddress,
      verifyToken,
      validBody(deleteProfileBody),
      accountForLimits((id) => accounts.findById(id)),
      limiters.failedLogins,
      async (req, res) => {
        await deletion.deleteOwn(req.auth!.userId, (req.body as { password: string }).password, req.ip ?? '');
        res.status(204).end();
        audit.record('user.deleted', req.auth!.userId, auditContext(req), { by: 'self' });
      },
    ],
  });

  defineRoute(router, '/sessions', {
    get: [
      verifyToken,
      async (req, res) => {
        const list = await sessions.list(req.auth!.userId);
        res.json({ sessions: list.map((session) => sessionJson(session, req.auth!.sessionId)) });
      },
    ],
  });

  defineRoute(router, '/sessions/:id', {
    delete: [
      verifyToken,
      async (req, res) => {
        await sessions.end(req.auth!.userId, String(req.params.id));
        res.status(204).end();
        audit.record('session.ended', req.auth!.userId, auditContext(req), { session_id: String(req.params.id) });
      },
    ],
  });

  return router;
}
