// The audit section: AUDIT_RETENTION, how long a database keeps audit events (memory and Redis keep the newest ones up to a count instead).
import { z } from 'zod';
import { parseDuration } from '../lib/duration';
import type { Parsed } from './fields';

export interface AuditConfig {
  readonly audit: {
    /** Events older than this (ms) are swept from a database. */
    readonly retentionMs: number;
  };
}

/** A duration of at least a minute: a shorter retention would sweep events before anyone could read them. */
function retention(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms < 60_000) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration of at least a minute, such as 90d' });
        return z.NEVER;
      }
      return ms;
    });
}

export const auditVariables = {
  AUDIT_RETENTION: retention('90d'),
};

export function auditSettings(e: Parsed<typeof auditVariables>): AuditConfig {
  return { audit: { retentionMs: e.AUDIT_RETENTION } };
}
