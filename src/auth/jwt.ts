// Signs and checks the JWTs of this server: HS256 only, explicit header type, strict time claims.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** A signing key made once: jsonwebtoken re-parses a string secret as a PEM on every call. */
export interface SigningKey {
  readonly key: KeyObject;
  /** Published in the `kid` header; derived from the secret so it changes when the secret does. */
  readonly kid: string;
}

export function signingKey(secret: string): SigningKey {
  return {
    key: createSecretKey(Buffer.from(secret, 'utf8')),
    kid: createHmac('sha256', secret).update('kid').digest('base64url').slice(0, 16),
  };
}

export type JwtClaims = Record<string, unknown>;

/** Why a token was refused. Only 'expired' tells the client something useful (refresh). */
export type JwtRejection = 'expired' | 'invalid';

export interface JwtCheck {
  typ: string;
  issuer: string;
  audience: string;
  /** Current time in seconds. */
  nowSec: number;
  /** The longest `exp - iat` this server issues; a longer-lived token is not ours. */
  maxLifetimeSec: number;
  /** Accept a correctly signed token whose `exp` has passed (logout of an ended session). */
  allowExpired?: boolean;
}

/** How far in the future an `iat` may be before the token is refused (clock skew between hosts). */
export const MAX_IAT_SKEW_SEC = 60;

export function signJwt(claims: JwtClaims, typ: string, signing: SigningKey): string {
  return jwt.sign(claims, signing.key, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ, kid: signing.kid },
  });
}

/** Returns the verified claims, or the reason the token must be refused. */
export function verifyJwt(
  token: string,
  signing: SigningKey,
  check: JwtCheck,
): { claims: JwtClaims; expired: boolean } | { rejected: JwtRejection } {
  let decoded: jwt.Jwt;
  let expired = false;
  try {
    decoded = jwt.verify(token, signing.key, {
      algorithms: ['HS256'],
      issuer: check.issuer,
      audience: check.audience,
      clockTimestamp: check.nowSec,
      ignoreExpiration: check.allowExpired === true,
      complete: true,
    });
  } catch (error) {
    // jsonwebtoken reports expiry only after the signature has been checked.
    return { rejected: error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
  }
  const { header, payload } = decoded;
  // jsonwebtoken accepts a string payload, a missing exp and any header: check them here.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { rejected: 'invalid' };
  }
  if (header.typ !== check.typ || header.kid !== signing.kid || 'crit' in header) {
    return { rejected: 'invalid' };
  }
  const { iat, exp } = payload;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return { rejected: 'invalid' };
  if (iat! > check.nowSec + MAX_IAT_SKEW_SEC) return { rejected: 'invalid' };
  if (exp! - iat! > check.maxLifetimeSec || exp! <= iat!) return { rejected: 'invalid' };
  if (check.nowSec >= exp!) {
    if (!check.allowExpired) return { rejected: 'expired' };
    expired = true;
  }
  return { claims: payload as JwtClaims, expired };
}

/** A claim that must be a non-empty string of sane length. */
export function stringClaim(claims: JwtClaims, name: string): string | null {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : null;
}
