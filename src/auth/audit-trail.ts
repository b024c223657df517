// Records what happened to accounts (sign-ins, changes, admin actions) in the audit store, after the answer: a failing store never fails a request.
import type { BackgroundTasks } from '../lib/background';
import type { Clock } from '../lib/clock';
import type { AuditDetailValue, AuditEventType, AuditStore } from '../stores/types';

/** Who did it and from where: the request's address and User-Agent, and the signed-in actor if any. */
export interface AuditContext {
  ip: string;
  userAgent: string;
  /** The admin for admin actions, else the user themselves (the default). */
  actorId?: string | null;
}

export class AuditTrail {
  constructor(
    private readonly store: AuditStore,
    private readonly background: BackgroundTasks,
    private readonly clock: Clock,
  ) {}

  /**
   * Records one event in the background, at `at` (default: now, when it is asked for, not when the
   * write happens). `details` hold only what an operator needs (field names, a reason, a role):
   * never a password, token, hash or code; the callers pass nothing else.
   */
  record(type: AuditEventType, userId: string | null, context: AuditContext, details: Record<string, AuditDetailValue> = {}, at = this.clock.now()): void {
    const event = { type, userId, actorId: context.actorId === undefined ? userId : context.actorId, ip: context.ip, userAgent: context.userAgent, details };
    this.background.run('audit event', async () => {
      await this.store.record(event, at);
    });
  }
}
