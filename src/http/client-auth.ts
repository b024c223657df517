// HTTP Basic authentication of the clients allowed to call POST /introspect (RFC 7617, RFC 6749 §2.3.1).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors';
import { REALM } from './bearer';

export interface ClientCredentials {
  readonly id: string;
  readonly secret: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function clientError(): AppError {
  return new AppError('unauthorized', {
    description: 'Client authentication failed.',
    headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` },
  });
}

/** The id and secret of an `Authorization: Basic` header, or null when it is not one. */
function basicCredentials(value: string): { id: string; secret: string } | null {
  const match = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(value);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Lets through only a request whose Basic credentials are one of `clients`; anything else is 401
 * with a Basic challenge. Secrets are compared as SHA-256 digests in constant time, and an unknown
 * id is compared against a dummy, so the time taken tells nothing about either.
 */
export function requireClient(clients: readonly ClientCredentials[]): RequestHandler {
  const digests = new Map(clients.map((client) => [client.id, digest(client.secret)]));
  const dummy = digest('no such client');
  return function clientAuth(req: Request, _res: Response, next: NextFunction): void {
    const headers = req.headersDistinct.authorization ?? [];
    if (headers.length > 1) throw new AppError('invalid_request', { description: 'Send exactly one Authorization header.' });
    const credentials = headers.length === 1 ? basicCredentials(headers[0]!) : null;
    if (!credentials) throw clientError();
    const expected = digests.get(credentials.id);
    const matches = timingSafeEqual(digest(credentials.secret), expected ?? dummy);
    if (!matches || expected === undefined) throw clientError();
    next();
  };
}
