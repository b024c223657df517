// Forges JWTs with the test secrets, so a test can change one thing and see verifyToken refuse it.
import jwt from 'jsonwebtoken';
import { decodeJwt } from './fixtures';
import { TEST_ENV } from './test-config';

export interface ForgeOptions {
  /** HS256 unless told otherwise; 'none' makes an unsigned token. */
  algorithm?: jwt.Algorithm;
  /** The key to sign with; the test config's access-token secret unless told otherwise. */
  secret?: string;
  /** Header fields set over the server's own ({alg, typ: "at+jwt", kid}). */
  header?: Record<string, unknown>;
}

/** The `kid` and claims of a real access token: the starting point of a forgery. */
export function accessTokenParts(accessToken: string): { kid: string; claims: Record<string, unknown> } {
  const { header, payload } = decodeJwt(accessToken);
  if (typeof header.kid !== 'string') throw new Error('the access token has no kid');
  return { kid: header.kid, claims: payload };
}

/**
 * Signs `payload` exactly as given (no `iat` added) with the header the server uses for access
 * tokens, unless `options` change the algorithm, the secret or header fields.
 */
export function forgeAccessToken(
  payload: string | Record<string, unknown>,
  kid: string,
  options: ForgeOptions = {},
): string {
  const algorithm = options.algorithm ?? 'HS256';
  const header = { alg: algorithm, typ: 'at+jwt', kid, ...options.header } as jwt.JwtHeader;
  // jsonwebtoken adds an iat to an object without one unless noTimestamp is set, and noTimestamp
  // deletes a given iat (it is refused for a string payload, which never gets one anyway).
  const timestamp = typeof payload === 'string' || 'iat' in payload ? {} : { noTimestamp: true };
  if (algorithm === 'none') {
    return jwt.sign(payload, null, { algorithm: 'none', header, ...timestamp });
  }
  return jwt.sign(payload, options.secret ?? TEST_ENV.JWT_SECRET!, { algorithm, header, ...timestamp });
}
