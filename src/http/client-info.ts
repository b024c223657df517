// Where a request comes from, as a session records it: its User-Agent (cut to a sane length) and client address.
import type { Request } from 'express';
import type { ClientInfo } from '../auth/session-service';

const MAX_USER_AGENT = 256;

export function clientInfo(req: Request): ClientInfo {
  return { userAgent: (req.get('user-agent') ?? '').slice(0, MAX_USER_AGENT), ip: req.ip ?? '' };
}
