// Reads the Bearer token from the Authorization header per RFC 6750, and builds its challenges.
import type { Request } from 'express';
import { AppError, type ErrorCode } from '../errors';

export const REALM = 'auth';

/** RFC 6750 §2.1: "Bearer" 1*SP b64token, the scheme name case-insensitive. */
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const MAX_TOKEN_LENGTH = 8192;

/**
 * An error carrying the RFC 6750 challenge. With no error code (no credentials at all) the
 * challenge names only the realm, as §3 asks.
 */
export function bearerError(code: ErrorCode, description?: string): AppError {
  const challengeCode = code === 'unauthorized' ? null : code;
  const error = new AppError(code, description === undefined ? {} : { description });
  const params = [`realm="${REALM}"`];
  if (challengeCode) {
    params.push(`error="${challengeCode}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  }
  error.headers['WWW-Authenticate'] = `Bearer ${params.join(', ')}`;
  return error;
}

/**
 * Every Authorization header of the request (Node keeps only the first in req.headers). Read from
 * rawHeaders directly: req.headersDistinct builds an object of every header on each request.
 */
function authorizationHeaders(req: Request): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') values.push(raw[i + 1]!);
  }
  return values;
}

/**
 * Returns the access token of the request, null when it carries no credentials at all, or
 * throws a 400 when the Authorization header breaks RFC 6750's grammar.
 */
export function readBearerToken(req: Request): string | null {
  // req.query parses the query string anew on every read: only look when there is one.
  if (req.url.includes('?') && req.query && typeof req.query === 'object' && 'access_token' in req.query) {
    throw bearerError('invalid_request', 'Send the access token in the Authorization header, not the query string.');
  }
  const headers = authorizationHeaders(req);
  if (headers.length === 0) return null;
  if (headers.length > 1) throw bearerError('invalid_request', 'Send exactly one Authorization header.');
  const value = headers[0]!;
  const scheme = /^[^ \t]*/.exec(value)![0];
  if (scheme.toLowerCase() !== 'bearer') {
    throw bearerError('unauthorized', 'Use the Bearer authentication scheme.');
  }
  const match = BEARER_CREDENTIALS.exec(value);
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) {
    throw bearerError('invalid_request', 'The Authorization header must be "Bearer" followed by one token.');
  }
  return match[1]!;
}
