// Cookie mode for browser SPAs: the refresh token travels in an HttpOnly cookie, asked for by a header.
import type { Request, Response } from 'express';

export const REFRESH_COOKIE = 'refresh_token';
const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;

/**
 * Whether the request asked for cookie mode. The custom header is the CSRF defence: a cross-site
 * form or image cannot send it, so without it the cookie is ignored.
 */
export function wantsCookieMode(req: Request): boolean {
  return req.get('x-token-mode')?.trim().toLowerCase() === 'cookie';
}

/** The refresh token from the Cookie header, or undefined. */
export function readRefreshCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === REFRESH_COOKIE) {
      const value = part.slice(separator + 1).trim();
      return value.length > 0 && value.length <= 4096 ? value : undefined;
    }
  }
  return undefined;
}

export function setRefreshCookie(res: Response, token: string, maxAgeSec: number): void {
  res.cookie(REFRESH_COOKIE, token, { ...COOKIE_OPTIONS, maxAge: maxAgeSec * 1000 });
}

export function clearRefreshCookie(res: Response): void {
  res.cookie(REFRESH_COOKIE, '', { ...COOKIE_OPTIONS, maxAge: 0 });
}
