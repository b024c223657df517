// Sends a TokenResponse: the refresh token in the body, or in its cookie when the client asked for cookie mode.
import type { Request, Response } from 'express';
import type { TokenGrant } from '../auth/session-service';
import { epochSeconds, type Clock } from '../lib/clock';
import { setRefreshCookie, wantsCookieMode } from './cookie-mode';
import { tokenResponseJson } from './presenters';
import { sendJson } from './send-json';

/** Sends a TokenResponse; in cookie mode the refresh token goes into the cookie instead. */
export function sendTokens(req: Request, res: Response, grant: TokenGrant, clock: Clock): void {
  const body = tokenResponseJson(grant, epochSeconds(clock));
  if (wantsCookieMode(req)) {
    setRefreshCookie(res, grant.refreshToken, body.refresh_expires_in);
    const { refresh_token: _omitted, ...withoutRefresh } = body;
    sendJson(res, 200, withoutRefresh);
    return;
  }
  sendJson(res, 200, body);
}

