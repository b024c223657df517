// ES256 signatures in low-S form only: (r, s) and (r, n − s) both verify, so one of them is chosen as the token's only valid signature.

/** The order n of the P-256 group, and n / 2 (rounded down): an s above it is "high". */
const P256_ORDER = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
const HALF_ORDER = Buffer.from((P256_ORDER >> 1n).toString(16).padStart(64, '0'), 'hex');

/** A JWS ES256 signature is r and s, 32 bytes each, big-endian (RFC 7518 §3.4). */
const SIGNATURE_BYTES = 64;

/**
 * Whether the base64url JWS signature is 64 bytes with s ≤ n / 2. Without this, anyone holding a
 * token can make its twin (r, n − s): a second token with the same claims that verifies too, which
 * breaks every check keyed on token bytes (replay lists, caches, logs) and RFC 7515's one signature.
 */
export function isLowS(signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64url');
  return bytes.length === SIGNATURE_BYTES && Buffer.compare(bytes.subarray(32), HALF_ORDER) <= 0;
}

/** The same signature in low-S form: s replaced by n − s when s is high (both verify; only this one is accepted). */
export function toLowS(signature: string): string {
  if (isLowS(signature)) return signature;
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== SIGNATURE_BYTES) throw new TypeError('an ES256 signature is 64 bytes');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const lowS = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([bytes.subarray(0, 32), lowS]).toString('base64url');
}
