// Access-token keys: HS256 secrets and ES256 key pairs, each under a `kid`; JWK export and import.
import { createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

/** The algorithms this server signs with. A key is bound to one, so a token cannot choose another. */
export type TokenAlgorithm = 'HS256' | 'ES256';

/** A key that checks tokens: a secret (HS256) or a public key (ES256). */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: TokenAlgorithm;
  readonly key: KeyObject;
}

/** A key that signs tokens: a secret (HS256) or a private key (ES256), with the key that checks them. */
export interface SigningKey extends VerificationKey {
  readonly verification: VerificationKey;
}

/** Finds the key named by a token's `kid`. */
export interface KeyLookup {
  get(kid: string): VerificationKey | undefined;
}

/** A public JSON Web Key of an ES256 key (RFC 7517, 7518). */
export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** What a `kid` may look like: short, URL- and header-safe, and free of the ":" and "," of the key lists. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

/** The `kid` of a secret when none is configured: changes with the secret and says nothing about it. */
export function derivedKeyId(secret: string): string {
  return createHmac('sha256', secret).update('kid').digest('base64url').slice(0, 16);
}

/** An HS256 key made once: jsonwebtoken re-parses a string secret as a PEM on every call. */
export function hmacKey(secret: string, kid: string = derivedKeyId(secret)): SigningKey {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const verification = { kid, alg: 'HS256' as const, key };
  return { ...verification, verification };
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** The P-256 private key in `pem` as PKCS#8 PEM, or null when it is not one (what ES256 signs with). */
export function privateKeyPem(pem: string): string | null {
  try {
    const key = createPrivateKey(pem);
    return isP256(key) ? String(key.export({ type: 'pkcs8', format: 'pem' })) : null;
  } catch {
    return null;
  }
}

/** The P-256 public key in `pem` (or the public half of a private key) as SPKI PEM, or null. */
export function publicKeyPem(pem: string): string | null {
  try {
    const key = createPublicKey(pem);
    return isP256(key) ? String(key.export({ type: 'spki', format: 'pem' })) : null;
  } catch {
    return null;
  }
}

/** An ES256 signing key from a P-256 private key in PEM; its `kid` is its public key's JWK thumbprint. */
export function ecSigningKey(privatePem: string): SigningKey {
  const key = createPrivateKey(privatePem);
  const verification = ecVerificationKey(createPublicKey(key));
  return { kid: verification.kid, alg: 'ES256', key, verification };
}

/** An ES256 verification key from a P-256 public key (PEM or KeyObject), named by its JWK thumbprint. */
export function ecVerificationKey(publicKey: string | KeyObject, kid?: string): VerificationKey {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (key.type !== 'public' || !isP256(key)) {
    throw new TypeError('an ES256 key must be a P-256 public key');
  }
  return { kid: kid ?? jwkThumbprint(key), alg: 'ES256', key };
}

/** RFC 7638 thumbprint: SHA-256 over the required members of the JWK, in lexicographic order. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK of an ES256 key; HS256 secrets are never published. */
export function publicJwk(key: VerificationKey): EcPublicJwk | null {
  if (key.alg !== 'ES256') return null;
  const jwk = key.key.export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid: key.kid, alg: 'ES256', use: 'sig' };
}

/**
 * An ES256 verification key from one entry of a fetched JWK Set, or null when the entry is not
 * one: another key type or curve, another algorithm or use, private material, no `kid`.
 */
export function keyFromJwk(entry: unknown): VerificationKey | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
  const jwk = entry as Record<string, unknown>;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return null;
  if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256) return null;
  if (jwk.alg !== undefined && jwk.alg !== 'ES256') return null;
  if (jwk.use !== undefined && jwk.use !== 'sig') return null;
  if ('d' in jwk) return null;
  try {
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
    return ecVerificationKey(key, jwk.kid);
  } catch {
    return null;
  }
}

/** A fixed set of keys by `kid`; two keys may not share one. */
export class KeyRing implements KeyLookup {
  private readonly byKid = new Map<string, VerificationKey>();

  constructor(keys: readonly VerificationKey[]) {
    for (const key of keys) {
      if (this.byKid.has(key.kid)) throw new TypeError(`two keys share the kid "${key.kid}"`);
      this.byKid.set(key.kid, key);
    }
  }

  get(kid: string): VerificationKey | undefined {
    return this.byKid.get(kid);
  }

  list(): VerificationKey[] {
    return [...this.byKid.values()];
  }
}
