// The admin API: find, create, change, disable and delete users, end their sessions, remove their factors, read the audit log (role admin only).
import { Router, type RequestHandler } from 'express';
import type { AdminService } from '../../auth/admin-service';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AuditDetailValue, AuditEventType, AuditStore } from '../../stores/types';
import { auditContext } from '../audit-context';
import { adminUserJson, auditEventJson, sessionJson, type MfaStatus } from '../presenters';
import { defineRoute } from '../routing';
import { adminCreateUserBody, adminUpdateUserBody, adminUserListQuery, auditQuery } from '../schemas';
import { sendJson } from '../send-json';
import { parseBody } from '../validate';
import { requireRole } from '../verify-token';

export interface AdminRoutesDeps {
  admin: AdminService;
  mfa: MfaStatus;
  verifyToken: RequestHandler;
  audit: AuditTrail;
  auditLog: AuditStore;
}

const DEFAULT_PAGE = 50;

export function adminRoutes({ admin, mfa, verifyToken, audit, auditLog }: AdminRoutesDeps): Router {
  const router = Router();
  const guard = [verifyToken, requireRole('admin')];
  const present = async (user: Parameters<typeof adminUserJson>[0]) => adminUserJson(user, await mfa.isEnabled(user.id));
  const userId = (params: Record<string, unknown>) => String(params.id);
  /** An action on one user, answered 204 once done and then recorded as `event`. */
  const userAction = (act: (id: string) => Promise<unknown>, event: AuditEventType, details: Record<string, AuditDetailValue>): RequestHandler[] => [
    ...guard,
    async (req, res) => {
      const id = userId(req.params);
      await act(id);
      res.status(204).end();
      audit.record(event, id, auditContext(req), details);
    },
  ];

  defineRoute(router, '/admin/users', {
    get: [
      ...guard,
      async (req, res) => {
        const query = parseBody(adminUserListQuery, { ...req.query }, 'query');
        const page = await admin.list({ limit: query.limit ?? DEFAULT_PAGE, cursor: query.cursor ?? null, ...(query.email ? { email: query.email } : {}) });
        sendJson(res, 200, { users: await Promise.all(page.users.map(present)), next_cursor: page.nextCursor });
      },
    ],
    post: [
      ...guard,
      async (req, res) => {
        const body = parseBody(adminCreateUserBody, req.body);
        const user = await admin.create(
          { email: body.email, role: body.role, emailVerified: body.email_verified, ...(body.password === undefined ? {} : { password: body.password }) },
          req.ip ?? '',
        );
        sendJson(res, 201, { user: await present(user) });
        audit.record('user.created', user.id, auditContext(req), { role: user.role, invited: body.password === undefined });
      },
    ],
  });

  defineRoute(router, '/admin/users/:id', {
    get: [
      ...guard,
      async (req, res) => {
        const { user, sessions } = await admin.get(userId(req.params));
        // No session of another user is the admin's "current" one.
        sendJson(res, 200, { user: await present(user), sessions: sessions.map((session) => sessionJson(session, '')) });
      },
    ],
    patch: [
      ...guard,
      async (req, res) => {
        const body = parseBody(adminUpdateUserBody, req.body);
        const { before, user } = await admin.update(userId(req.params), {
          ...(body.role === undefined ? {} : { role: body.role }),
          ...(body.disabled === undefined ? {} : { disabled: body.disabled }),
          ...(body.email_verified === undefined ? {} : { emailVerified: body.email_verified }),
        });
        sendJson(res, 200, { user: await present(user) });
        const context = auditContext(req);
        const changed = (['role', 'disabled', 'email_verified'] as const).filter((field) => body[field] !== undefined);
        audit.record('user.updated', user.id, context, { fields: changed.join(','), role: user.role });
        if (before.disabled !== user.disabled) audit.record(user.disabled ? 'user.disabled' : 'user.enabled', user.id, context);
      },
    ],
    delete: userAction((id) => admin.remove(id), 'user.deleted', { by: 'admin' }),
  });

  defineRoute(router, '/admin/users/:id/sessions', {
    delete: userAction((id) => admin.endSessions(id), 'session.ended', { all: true }),
  });

  defineRoute(router, '/admin/users/:id/mfa', {
    delete: userAction((id) => admin.removeFactors(id), 'mfa.disabled', { by: 'admin' }),
  });

  defineRoute(router, '/admin/audit', {
    get: [
      ...guard,
      async (req, res) => {
        const query = parseBody(auditQuery, { ...req.query }, 'query');
        const page = await auditLog.list({
          limit: query.limit ?? DEFAULT_PAGE,
          cursor: query.cursor ?? null,
          ...(query.user_id === undefined ? {} : { userId: query.user_id }),
          ...(query.type === undefined ? {} : { type: query.type }),
          ...(query.since === undefined ? {} : { since: query.since }),
          ...(query.until === undefined ? {} : { until: query.until }),
        });
        sendJson(res, 200, { events: page.events.map(auditEventJson), next_cursor: page.nextCursor });
      },
    ],
  });

  return router;
}
