// The verifyToken middleware: Bearer access token in, typed req.auth out, RFC 6750 challenges on failure.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../config';
import type { AccessClaims } from '../auth/access-claims';
import { KeyVerifier, type AccessVerifierOptions, type TokenVerifier } from '../auth/access-verifier';
import { AppError } from '../errors';
import { bearerError, readBearerToken } from './bearer';

/** Who is calling, as proven by a verified access token of a live session. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  tokenId: string;
  role: Role;
  /** How the user signed in (RFC 8176 `amr`): ["pwd"], or ["pwd", "otp"] after a second factor. */
  amr: readonly string[];
  /** Access token `exp`, seconds. */
  expiresAt: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by verifyToken. */
    auth?: AuthContext;
  }
}

/** Tells whether a session is still live (the auth server's session store is one). */
export interface SessionCheck {
  isActive(sessionId: string): Promise<boolean>;
}

/** True when the token's session has ended. Gets the token too, to ask the auth server's POST /introspect. */
export type IsRevoked = (sessionId: string, context: { token: string; claims: AccessClaims }) => boolean | Promise<boolean>;

export interface RevocationOptions {
  /**
   * The revocation check. Without one (and without `sessions`), a token is accepted until it
   * expires, even after its session has been logged out or ended: at most ACCESS_TOKEN_TTL.
   */
  isRevoked?: IsRevoked;
  /** The auth server's own session store, as the revocation check. */
  sessions?: SessionCheck;
}

/** Either the keys to verify with (another service), or a ready verifier (the auth server's TokenService). */
export type VerifyTokenOptions = (AccessVerifierOptions | { tokens: TokenVerifier }) & RevocationOptions;

/** Verifies an access token, turning a refusal into its RFC 6750 challenge. */
export function checkAccessToken(tokens: { verifyAccess(token: string): AccessClaims }, token: string): AccessClaims {
  try {
    return tokens.verifyAccess(token);
  } catch (error) {
    throw challenge(error);
  }
}

function challenge(error: unknown): unknown {
  if (error instanceof AppError && error.code === 'invalid_token') return bearerError('invalid_token', error.description);
  return error;
}

/**
 * The whole check of an access token: signature, type, claims, then the revocation check. Resolves
 * with the claims, or rejects with an AppError carrying its RFC 6750 challenge.
 */
export function createAccessCheck(options: VerifyTokenOptions): (token: string) => Promise<AccessClaims> {
  const tokens = 'tokens' in options ? options.tokens : new KeyVerifier(options);
  const { isRevoked, sessions } = options;
  return async function checkAccess(token: string): Promise<AccessClaims> {
    let claims: AccessClaims;
    try {
      claims = await tokens.verifyAccess(token);
    } catch (error) {
      throw challenge(error);
    }
    const revoked =
      (sessions !== undefined && !(await sessions.isActive(claims.sessionId))) ||
      (isRevoked !== undefined && (await isRevoked(claims.sessionId, { token, claims })));
    if (revoked) throw bearerError('invalid_token', 'token revoked');
    return claims;
  };
}

/**
 * Builds the middleware guarding protected routes: parses `Authorization: Bearer`, verifies the
 * token (signature by kid, typ, iss, aud, exp, iat, claim types) and that its session has not ended.
 * Failures go to `next(error)` (Express 4 and 5 alike): render them with authErrorHandler() or the
 * auth server's own error handler.
 */
export function createVerifyToken(options: VerifyTokenOptions): RequestHandler {
  const checkAccess = createAccessCheck(options);
  async function authenticate(req: Request): Promise<void> {
    const token = readBearerToken(req);
    if (token === null) throw bearerError('unauthorized');
    const claims = await checkAccess(token);
    req.auth = {
      userId: claims.userId,
      sessionId: claims.sessionId,
      tokenId: claims.tokenId,
      role: claims.role,
      amr: claims.amr,
      expiresAt: claims.expiresAt,
    };
  }
  return function verifyToken(req: Request, _res: Response, next: NextFunction): void {
    authenticate(req).then(() => next(), next);
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

/**
 * Step-up: lets the request through only when verifyToken ran and the token's `amr` names every
 * method in `methods`. `requireAmr('otp')` guards a route that needs a second factor:
 *
 *   router.post('/billing/payout', verifyToken, requireRole('admin'), requireAmr('otp'), handler);
 *
 * A token without it is `403 insufficient_scope` with an RFC 6750 challenge whose description
 * asks for a sign-in with the second factor. RFC 9470 names this case
 * `insufficient_user_authentication` (401), a code the contract's closed table lacks; its
 * `insufficient_scope` ("authenticated, but not allowed this") says the same to a client and
 * keeps a 401 for tokens that must be replaced or refreshed.
 */
export function requireAmr(...methods: string[]): RequestHandler {
  return function amrGuard(req: Request, _res: Response, next: NextFunction): void {
    if (!req.auth) throw bearerError('unauthorized');
    if (!methods.every((method) => req.auth!.amr.includes(method))) {
      throw bearerError('insufficient_scope', 'This needs a sign-in with a second factor (amr otp).');
    }
    next();
  };
}
