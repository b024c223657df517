// Cookie mode for browser SPAs: the refresh token travels in an HttpOnly cookie, asked for by a header.
import type { Request, Response } from 'express';
import { AppError } from '../errors';

/**
 * The `__Host-` prefix makes a browser keep the cookie only when it is set by this very host,
 * Secure, with Path=/ and no Domain: a sibling subdomain cannot plant one for us (cookie tossing).
 */
export const REFRESH_COOKIE = '__Host-refresh_token';
const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;
const MAX_COOKIE_VALUE = 4096;

/**
 * Whether the request asked for cookie mode. The custom header is the CSRF defence: a cross-site
 * form or image cannot send it, so without it the cookie is ignored.
 */
export function wantsCookieMode(req: Request): boolean {
  return req.get('x-token-mode')?.trim().toLowerCase() === 'cookie';
}

/**
 * Only the blanks RFC 6265 allows around a cookie pair. String#trim() would also strip Unicode
 * spaces (U+00A0, U+FEFF…), turning a name a browser never treated as `__Host-` into ours.
 */
function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * The refresh token from the Cookie header (Node joins repeated Cookie headers with "; "), or
 * undefined. Two refresh cookies mean one was planted by someone else, and nothing tells which:
 * the request is refused rather than served from either session.
 */
export function readRefreshCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator <= 0 || trimBlanks(part.slice(0, separator)) !== REFRESH_COOKIE) continue;
    if (found !== undefined) {
      throw new AppError('invalid_grant', { description: 'The request carries more than one refresh cookie.' });
    }
    found = trimBlanks(part.slice(separator + 1));
  }
  return found && found.length <= MAX_COOKIE_VALUE ? found : undefined;
}

export function setRefreshCookie(res: Response, token: string, maxAgeSec: number): void {
  res.cookie(REFRESH_COOKIE, token, { ...COOKIE_OPTIONS, maxAge: maxAgeSec * 1000 });
}

export function clearRefreshCookie(res: Response): void {
  res.cookie(REFRESH_COOKIE, '', { ...COOKIE_OPTIONS, maxAge: 0 });
}
