// Accepts only JSON bodies, capped in size; everything else is a 415 or 413 before any route runs.
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../errors';

export const BODY_LIMIT = '10kb';
const BODY_LIMIT_BYTES = 10 * 1024;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the request says it carries a body (a GET may, too). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/**
 * Refuses a body whose Content-Length is over the limit before reading any of it, and closes the
 * connection: body-parser would first read (and drop) the whole body, however large it claims to be.
 */
export function refuseDeclaredOversize(req: Request, _res: Response, next: NextFunction): void {
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT_BYTES) {
    throw new AppError('payload_too_large', { headers: { Connection: 'close' } });
  }
  next();
}

/** The charset parameter of the Content-Type, lower-cased, or null when there is none. */
function declaredCharset(req: Request): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '');
  return match ? match[1]!.toLowerCase() : null;
}

function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!hasBody(req)) return next();
  if (METHODS_WITH_BODY.has(req.method) && !req.is('application/json')) {
    throw new AppError('unsupported_media_type');
  }
  // RFC 8259 §8.1: JSON between systems is UTF-8. body-parser would also decode UTF-16, UTF-32 and UTF-7.
  const charset = declaredCharset(req);
  if (charset !== null && charset !== 'utf-8' && charset !== 'utf8' && req.is('application/json')) {
    throw new AppError('unsupported_media_type', { description: 'The body must be UTF-8 JSON.' });
  }
  next();
}

/** The JSON body parser: strict content type, no compressed bodies (no zip bombs), 10 kB at most. */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({ limit: BODY_LIMIT, strict: false, inflate: false, type: 'application/json' });
  // One layer instead of three, and for a request without a body (every GET) one check: none of
  // the three has anything to do then (a protected GET pays for each router layer; see bench/).
  return [
    function jsonBodyOnly(req: Request, res: Response, next: NextFunction): void {
      if (!hasBody(req)) return next();
      refuseDeclaredOversize(req, res, () => requireJson(req, res, () => parse(req, res, next)));
    },
  ];
}
