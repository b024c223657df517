// The verifyToken middleware: Bearer access token in, typed req.auth out, RFC 6750 challenges on failure.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../config';
import type { AccessClaims, AccessTokenVerifier } from '../auth/tokens';
import { AppError } from '../errors';
import { bearerError, readBearerToken } from './bearer';

/** Who is calling, as proven by a verified access token of a live session. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  tokenId: string;
  role: Role;
  /** Access token `exp`, seconds. */
  expiresAt: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by verifyToken. */
    auth?: AuthContext;
  }
}

/** Tells whether a session is still live; omit it to accept tokens until they expire. */
export interface SessionCheck {
  isActive(sessionId: string): Promise<boolean>;
}

export interface VerifyTokenOptions {
  tokens: AccessTokenVerifier;
  sessions?: SessionCheck;
}

/** Verifies an access token, turning a refusal into its RFC 6750 challenge. */
export function checkAccessToken(tokens: AccessTokenVerifier, token: string): AccessClaims {
  try {
    return tokens.verifyAccess(token);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw bearerError('invalid_token', error.description);
  }
}

/**
 * Builds the middleware guarding protected routes: parses `Authorization: Bearer`, verifies the
 * token (HS256, typ, iss, aud, exp, iat, claim types) and that its session has not ended.
 */
export function createVerifyToken({ tokens, sessions }: VerifyTokenOptions): RequestHandler {
  return async function verifyToken(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const token = readBearerToken(req);
    if (token === null) throw bearerError('unauthorized');
    const claims = checkAccessToken(tokens, token);
    if (sessions && !(await sessions.isActive(claims.sessionId))) {
      throw bearerError('invalid_token', 'token revoked');
    }
    req.auth = {
      userId: claims.userId,
      sessionId: claims.sessionId,
      tokenId: claims.tokenId,
      role: claims.role,
      expiresAt: claims.expiresAt,
    };
    next();
  };
}

/** Lets the request through only when verifyToken ran and the token's role is one of `roles`. */
export function requireRole(...roles: Role[]): RequestHandler {
  return function roleGuard(req: Request, _res: Response, next: NextFunction): void {
    if (!req.auth) throw bearerError('unauthorized');
    if (!roles.includes(req.auth.role)) {
      throw bearerError('insufficient_scope', 'Your role does not allow this.');
    }
    next();
  };
}
