// Checks access tokens in any service: HS256 secrets by kid and/or the auth server's JWKS; no config, no stores.
import { systemClock, type Clock } from '../lib/clock';
import { accessTokenError, readAccessToken, type AccessCheck, type AccessClaims } from './access-claims';
import { JwksClient, type JwksOptions } from './jwks-client';
import { KEY_ID_PATTERN, KeyRing, hmacKey, type KeyLookup, type VerificationKey } from './keys';

export interface AccessVerifierOptions {
  /**
   * HS256 secrets by kid: the auth server's JWT_SECRET under its JWT_SECRET_ID, plus any of its
   * JWT_VERIFY_SECRETS during a rotation. Every holder of a secret can also mint tokens.
   */
  keys?: Readonly<Record<string, string>>;
  /** The auth server's JWK Set (ES256 public keys): its URL, or the URL with cache settings. */
  jwks?: string | JwksOptions;
  /** The auth server's JWT_ISSUER: the `iss` every token must carry. */
  issuer: string;
  /** The `aud` this service accepts: the auth server's JWT_AUDIENCE. */
  audience: string;
  /** Seconds of clock difference with the auth server forgiven on `exp` and `iat` (default 0). */
  clockTolerance?: number;
  /** The auth server's ACCESS_TOKEN_TTL in seconds: a token living longer is refused (unchecked by default). */
  maxTokenLifetime?: number;
  /** The time source (tests move it). */
  clock?: Clock;
}

/** Checks an access token; rejects with AppError('invalid_token') ("token expired" or "token invalid"). */
export interface TokenVerifier {
  verifyAccess(token: string): AccessClaims | Promise<AccessClaims>;
}

const MIN_SECRET_BYTES = 32;

function optionalSeconds(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a number of seconds, 0 or more`);
  }
  return value;
}

function secretKeys(keys: Readonly<Record<string, string>>): VerificationKey[] {
  return Object.entries(keys).map(([kid, secret]) => {
    if (!KEY_ID_PATTERN.test(kid)) throw new TypeError(`keys: "${kid}" is not a valid kid`);
    if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
      throw new TypeError(`keys: the secret of "${kid}" must be a string of at least ${MIN_SECRET_BYTES} bytes`);
    }
    return hmacKey(secret, kid).verification;
  });
}

/** Verifies access tokens with keys given to it: what another service runs instead of the auth server. */
export class KeyVerifier implements TokenVerifier {
  private readonly ring: KeyRing;
  private readonly jwks: JwksClient | null;
  private readonly lookup: KeyLookup;
  private readonly clock: Clock;
  private readonly check: Omit<AccessCheck, 'nowSec'>;

  /** Throws a TypeError for options that could never verify a token, so a service fails at start-up. */
  constructor(options: AccessVerifierOptions) {
    const { issuer, audience } = options;
    if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer is required');
    if (typeof audience !== 'string' || audience === '') throw new TypeError('audience is required');
    if (options.keys === undefined && options.jwks === undefined) throw new TypeError('give keys, jwks, or both');
    this.clock = options.clock ?? systemClock;
    this.ring = new KeyRing(options.keys === undefined ? [] : secretKeys(options.keys));
    const jwks = options.jwks;
    this.jwks = jwks === undefined ? null : new JwksClient(typeof jwks === 'string' ? { url: jwks } : jwks, this.clock);
    this.lookup = { get: (kid) => this.ring.get(kid) ?? this.jwks?.get(kid) };
    this.check = {
      issuer,
      audience,
      clockToleranceSec: optionalSeconds(options.clockTolerance, 'clockTolerance'),
      maxLifetimeSec: optionalSeconds(options.maxTokenLifetime, 'maxTokenLifetime'),
    };
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    await this.jwks?.refreshIfStale();
    let result = this.read(token);
    if ('rejected' in result && result.rejected === 'unknown_key' && this.jwks) {
      // A key published after the last fetch (a rotation): look once more, within the rate limit.
      await this.jwks.refreshForUnknownKey();
      result = this.read(token);
    }
    if ('rejected' in result) throw accessTokenError(result.rejected);
    return result.claims;
  }

  private read(token: string) {
    return readAccessToken(token, this.lookup, { ...this.check, nowSec: Math.floor(this.clock.now() / 1000) });
  }
}
