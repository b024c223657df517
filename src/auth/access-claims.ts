// Reads an access token with a set of keys: the one check every verifier of this server's tokens runs.
import type { Role } from '../config';
import { AppError } from '../errors';
import { stringClaim, verifyJwt, type JwtRejection } from './jwt';
import type { KeyLookup } from './keys';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

const ROLES: readonly Role[] = ['user', 'admin'];

/** The verified content of an access token. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  role: Role;
  /**
   * How the user proved who they are (RFC 8176): ["pwd"], or ["pwd", "otp"] after a second factor.
   * Empty for a token without the claim (one issued before this server wrote it).
   */
  amr: readonly string[];
  issuedAt: number;
  expiresAt: number;
}

export interface AccessCheck {
  issuer: string;
  audience: string;
  /** Current time in seconds. */
  nowSec: number;
  /** The longest lifetime (`exp - iat`) the issuer gives; unchecked when absent. */
  maxLifetimeSec?: number;
  /** Seconds of clock difference between hosts forgiven on `exp` and `iat`. */
  clockToleranceSec?: number;
}

/** The claims of a valid access token, or why it is refused. */
export function readAccessToken(
  token: string,
  keys: KeyLookup,
  check: AccessCheck,
): { claims: AccessClaims } | { rejected: JwtRejection } {
  const result = verifyJwt(token, keys, { typ: ACCESS_TOKEN_TYPE, ...check });
  if ('rejected' in result) return result;
  const { claims } = result;
  const userId = stringClaim(claims, 'sub');
  const sessionId = stringClaim(claims, 'sid');
  const tokenId = stringClaim(claims, 'jti');
  const role = claims.role as Role;
  if (!userId || !sessionId || !tokenId || !ROLES.includes(role)) return { rejected: 'invalid' };
  const amr = methodsClaim(claims.amr);
  if (amr === null) return { rejected: 'invalid' };
  return {
    claims: { userId, sessionId, tokenId, role, amr, issuedAt: claims.iat as number, expiresAt: claims.exp as number },
  };
}

/** The `amr` claim: absent is none, else a short array of short strings; anything else makes the token invalid. */
export function methodsClaim(value: unknown): readonly string[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 8) return null;
  return value.every((method) => typeof method === 'string' && method.length > 0 && method.length <= 32) ? (value as string[]) : null;
}

/** The error for a refused access token: "token expired" (refresh) or "token invalid" (log in again). */
export function accessTokenError(rejection: JwtRejection): AppError {
  return new AppError('invalid_token', { description: rejection === 'expired' ? 'token expired' : 'token invalid' });
}
