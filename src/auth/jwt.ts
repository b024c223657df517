// Signs and checks the JWTs of this server through jsonwebtoken: a key per `kid`, bound to its algorithm; explicit type, strict time claims, low-S ES256.
import jwt from 'jsonwebtoken';
import { isLowS, toLowS } from './ecdsa-low-s';
import type { KeyLookup, SigningKey, VerificationKey } from './keys';

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

/**
 * Signs through jsonwebtoken with the key made once at start-up (a KeyObject: a string secret is
 * re-parsed as a PEM on every call). An ES256 signature is turned to its low-S form, the only one
 * verifyJwt accepts: ECDSA picks s at random, and half of them are high.
 */
export function signJwt(claims: JwtClaims, typ: string, signing: SigningKey): string {
  const header = { alg: signing.alg, typ, kid: signing.kid };
  const token = jwt.sign(claims, signing.key, { algorithm: signing.alg, header });
  if (signing.alg !== 'ES256') return token;
  const lastDot = token.lastIndexOf('.');
  return `${token.slice(0, lastDot + 1)}${toLowS(token.slice(lastDot + 1))}`;
}

/**
 * RFC 7515 §2: each segment is base64url without padding, and a segment that decodes to the same
 * bytes under another spelling (other unused trailing bits, padding, "+" or "/") is not the token
 * that was signed: jsonwebtoken's ECDSA check decodes leniently and would accept such a twin.
 */
export function isCanonicalCompact(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every(isCanonicalSegment);
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether decoding and encoding the segment again gives it back, without doing either (this runs
 * on every protected request): a last group of 2 or 3 characters carries 4 or 2 unused bits,
 * which must be zero, and a lone last character carries no whole byte at all.
 */
function isCanonicalSegment(segment: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return false;
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = BASE64URL.indexOf(segment[segment.length - 1]!);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object in a base64url segment, or null. */
function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

/** The header of a canonical compact JWT, or null when it has none that parses as a JSON object. */
function readHeader(token: string): Record<string, unknown> | null {
  const header = decodeSegment(token.slice(0, token.indexOf('.')));
  return isObject(header) ? header : null;
}

type Verified = { payload: unknown } | { rejected: JwtRejection };

/**
 * jsonwebtoken checks the signature with the key's own algorithm (pinned: it would otherwise take
 * HS384/HS512 under an HMAC key), then nbf, exp, aud and iss in that order, so an expired token
 * of another audience is "expired"; verifyJwt adds what it lets through (TOOLCHAIN pitfall 7).
 */
function verifyWithLibrary(token: string, key: VerificationKey, check: JwtCheck): Verified {
  try {
    const payload = jwt.verify(token, key.key, {
      algorithms: [key.alg],
      issuer: check.issuer,
      audience: check.audience,
      clockTimestamp: check.nowSec,
      clockTolerance: check.clockToleranceSec ?? 0,
      ignoreExpiration: check.allowExpired === true,
    });
    return { payload };
  } catch (error) {
    // jsonwebtoken reports expiry only after the signature has been checked.
    return { rejected: error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
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

  // One valid signature per token: the (r, n − s) twin of a genuine ES256 signature verifies too, so it is refused here.
  if (key.alg === 'ES256' && !isLowS(token.slice(token.lastIndexOf('.') + 1))) return { rejected: 'invalid' };

  const tolerance = check.clockToleranceSec ?? 0;
  let expired = false;
  const verified = verifyWithLibrary(token, key, check);
  if ('rejected' in verified) return verified;
  const { payload } = verified;
  // jsonwebtoken accepts a string payload, a missing exp and a future iat: check them here.
  if (!isObject(payload)) return { rejected: 'invalid' };
  const { iat, exp } = payload as { iat?: number; exp?: number };
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
