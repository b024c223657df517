// Signs and checks the JWTs of this server: a key per `kid`, bound to its algorithm; explicit type, strict time claims.
import jwt from 'jsonwebtoken';
import type { KeyLookup, SigningKey } from './keys';

export type JwtClaims = Record<string, unknown>;

/**
 * Why a token was refused. Only 'expired' tells the client something useful (refresh);
 * 'unknown_key' (no key has its `kid`) lets a verifier fetching keys look again before refusing.
 */
export type JwtRejection = 'expired' | 'invalid' | 'unknown_key';

export interface JwtCheck {
  typ: string;
  issuer: string;
  audience: string;
  /** Current time in seconds. */
  nowSec: number;
  /** The longest `exp - iat` the issuer gives; a longer-lived token is not its. Unchecked when absent. */
  maxLifetimeSec?: number;
  /** Seconds of clock difference between hosts forgiven on `exp` and `iat` (default 0). */
  clockToleranceSec?: number;
  /** Accept a correctly signed token whose `exp` has passed (logout of an ended session). */
  allowExpired?: boolean;
}

/** How far in the future an `iat` may be before the token is refused (clock skew between hosts). */
export const MAX_IAT_SKEW_SEC = 60;

/**
 * Header parameters that name keys or certificates elsewhere. This server never sets them, and a
 * verifier must never fetch a URL or trust a key that a token brings along: a token with one is refused.
 */
const FOREIGN_KEY_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

export function signJwt(claims: JwtClaims, typ: string, signing: SigningKey): string {
  return jwt.sign(claims, signing.key, {
    algorithm: signing.alg,
    header: { alg: signing.alg, typ, kid: signing.kid },
  });
}

/**
 * RFC 7515 §2: each segment is base64url without padding, and a segment that decodes to the same
 * bytes under another spelling (other unused trailing bits, padding, "+" or "/") is not the token
 * that was signed: jsonwebtoken's ECDSA check decodes leniently and would accept such a twin.
 */
function isCanonicalCompact(token: string): boolean {
  const segments = token.split('.');
  return (
    segments.length === 3 &&
    segments.every((segment) => /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment)
  );
}

/** The header of a compact JWT, or null when it has none that parses as a JSON object. */
function readHeader(token: string): Record<string, unknown> | null {
  try {
    const decoded = jwt.decode(token, { complete: true });
    const header: unknown = decoded?.header;
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? (header as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Returns the verified claims, or the reason the token must be refused. The key is the one named
 * by the token's `kid`, and the algorithm is the key's own: a token cannot pick either.
 */
export function verifyJwt(
  token: string,
  keys: KeyLookup,
  check: JwtCheck,
): { claims: JwtClaims; expired: boolean } | { rejected: JwtRejection } {
  if (!isCanonicalCompact(token)) return { rejected: 'invalid' };
  const header = readHeader(token);
  if (!header || header.typ !== check.typ || typeof header.kid !== 'string') return { rejected: 'invalid' };
  if (FOREIGN_KEY_HEADERS.some((name) => name in header)) return { rejected: 'invalid' };
  const key = keys.get(header.kid);
  if (!key) return { rejected: 'unknown_key' };
  if (header.alg !== key.alg) return { rejected: 'invalid' };

  const tolerance = check.clockToleranceSec ?? 0;
  let decoded: jwt.Jwt;
  let expired = false;
  try {
    decoded = jwt.verify(token, key.key, {
      algorithms: [key.alg],
      issuer: check.issuer,
      audience: check.audience,
      clockTimestamp: check.nowSec,
      clockTolerance: tolerance,
      ignoreExpiration: check.allowExpired === true,
      complete: true,
    });
  } catch (error) {
    // jsonwebtoken reports expiry only after the signature has been checked.
    return { rejected: error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
  }
  const { payload } = decoded;
  // jsonwebtoken accepts a string payload, a missing exp and a future iat: check them here.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { rejected: 'invalid' };
  }
  const { iat, exp } = payload;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return { rejected: 'invalid' };
  if (iat! > check.nowSec + MAX_IAT_SKEW_SEC + tolerance) return { rejected: 'invalid' };
  if (exp! <= iat!) return { rejected: 'invalid' };
  if (check.maxLifetimeSec !== undefined && exp! - iat! > check.maxLifetimeSec) return { rejected: 'invalid' };
  if (check.nowSec >= exp! + tolerance) {
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
