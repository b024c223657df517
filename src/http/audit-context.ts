// The audit context of a request: its client address and User-Agent, and the signed-in caller as the actor.
import type { Request } from 'express';
import type { AuditContext } from '../auth/audit-trail';
import { clientInfo } from './client-info';

export function auditContext(req: Request, actorId?: string | null): AuditContext {
  const { ip, userAgent } = clientInfo(req);
  return { ip, userAgent, ...(actorId !== undefined ? { actorId } : req.auth ? { actorId: req.auth.userId } : {}) };
}
