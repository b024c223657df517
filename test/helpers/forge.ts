// Forges JWTs with the test secrets, so a test can change one thing and see verifyToken refuse it.
import { constants, createHmac, sign as cryptoSign, type KeyObject } from 'node:crypto';
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

/** How a hand-built JWT is signed: an HMAC key, a private key, or a signature given as it is. */
export type Signer =
  | { alg: 'HS256' | 'HS384' | 'HS512'; hmacKey: string | Buffer }
  | { alg: 'RS256' | 'PS256' | 'ES256' | 'ES384'; privateKey: KeyObject }
  | { signature: string };

const HASHES = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512', RS256: 'sha256', PS256: 'sha256', ES256: 'sha256', ES384: 'sha384' };

/** base64url of the UTF-8 text, or of the JSON of anything that is not a string. */
export function jwtSegment(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * A compact JWT built by hand, byte by byte, with no library in the way: any header (even one
 * jsonwebtoken would refuse to write), any payload text, any signature. A string header or payload
 * is used as the segment's JSON text exactly. An ES256 signature comes in low-S form, as the server's.
 */
export function forgeJwt(header: unknown, payload: unknown, signer: Signer): string {
  const input = `${jwtSegment(header)}.${jwtSegment(payload)}`;
  if ('signature' in signer) return `${input}.${signer.signature}`;
  const hash = HASHES[signer.alg];
  if ('hmacKey' in signer) return `${input}.${createHmac(hash, signer.hmacKey).update(input).digest('base64url')}`;
  const signature = cryptoSign(hash, Buffer.from(input), {
    key: signer.privateKey,
    ...(signer.alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    ...(signer.alg === 'PS256' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {}),
  });
  const token = `${input}.${signature.toString('base64url')}`;
  // As the server signs: of an ES256 signature and its twin, the low-S one (the other is refused).
  return signer.alg === 'ES256' && isHighS(token) ? es256Twin(token) : token;
}

/** The order n of the P-256 group, written out here rather than taken from the code under test. */
const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

function signatureS(token: string): bigint {
  return BigInt(`0x${Buffer.from(token.split('.')[2]!, 'base64url').subarray(32).toString('hex')}`);
}

/** Whether the ES256 signature of `token` has s > n / 2. */
export function isHighS(token: string): boolean {
  return signatureS(token) > P256_N / 2n;
}

/** The ECDSA twin of an ES256 token: the same header and claims, signature (r, n − s), which verifies as well. */
export function es256Twin(token: string): string {
  const [head, payload, signature] = token.split('.') as [string, string, string];
  const r = Buffer.from(signature, 'base64url').subarray(0, 32);
  const twinS = Buffer.from((P256_N - signatureS(token)).toString(16).padStart(64, '0'), 'hex');
  return `${head}.${payload}.${Buffer.concat([r, twinS]).toString('base64url')}`;
}
