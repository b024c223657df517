// Access and refresh tokens: what they carry, how they are issued, and how they are checked.
import type { Config, Role } from '../config';
import { AppError } from '../errors';
import { epochSeconds, type Clock } from '../lib/clock';
import { ACCESS_TOKEN_TYPE, accessTokenError, methodsClaim, readAccessToken, type AccessClaims } from './access-claims';
import { signJwt, stringClaim, verifyJwt } from './jwt';
import {
  KeyRing,
  ecSigningKey,
  ecVerificationKey,
  hmacKey,
  publicJwk,
  type EcPublicJwk,
  type SigningKey,
  type VerificationKey,
} from './keys';
import { VerifiedTokens } from './verified-tokens';

export { ACCESS_TOKEN_TYPE, type AccessClaims };
export const REFRESH_TOKEN_TYPE = 'rt+jwt';
/** The second-step token of a sign-in with TOTP: signed with the refresh key, told apart by its type. */
export const MFA_TOKEN_TYPE = 'mfa+jwt';

/** Authentication methods (RFC 8176) of a session: a password, then maybe a one-time code. */
export type AuthMethods = readonly ('pwd' | 'otp')[];
export const PASSWORD_ONLY: AuthMethods = ['pwd'];
export const PASSWORD_AND_OTP: AuthMethods = ['pwd', 'otp'];

/** The verified content of a refresh token. */
export interface RefreshClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  /** How the session's user signed in; carried here so that refreshed access tokens keep it. */
  amr: AuthMethods;
  /** True when the token was accepted although expired (only when asked for). */
  expired: boolean;
}

/** Checks access tokens. All another router (or service) needs to guard its routes. */
export interface AccessTokenVerifier {
  /** Returns the claims, or throws AppError('invalid_token') saying "token expired" or "token invalid". */
  verifyAccess(token: string): AccessClaims;
}

/**
 * The keys of the access tokens: the signer first, then every key that only verifies (keys of a
 * rotation in progress). Throws on two keys with one `kid`. With ES256, JWT_SECRET neither signs nor
 * verifies: an HS256 token is accepted only under a key listed in JWT_VERIFY_SECRETS, which an
 * operator drops after the switch, never under a shared secret that would go on minting tokens.
 */
function accessKeys(jwtConfig: Config['jwt']): { signer: SigningKey; verifiers: VerificationKey[] } {
  let signer: SigningKey;
  if (jwtConfig.algorithm === 'ES256') {
    if (!jwtConfig.privateKey) throw new TypeError('ES256 needs a private key');
    signer = ecSigningKey(jwtConfig.privateKey);
  } else {
    signer = hmacKey(jwtConfig.accessSecret, jwtConfig.accessKeyId ?? undefined);
  }
  const verifiers = [signer.verification];
  for (const { kid, secret } of jwtConfig.verifySecrets) verifiers.push(hmacKey(secret, kid).verification);
  for (const pem of jwtConfig.verifyPublicKeys) verifiers.push(ecVerificationKey(pem));
  return { signer, verifiers };
}

export class TokenService implements AccessTokenVerifier {
  private readonly accessKey: SigningKey;
  private readonly accessRing: KeyRing;
  private readonly refreshKey: SigningKey;
  private readonly refreshRing: KeyRing;
  /** Access tokens already verified: the keys above never change, so their verdict stands until `exp`. */
  private readonly verifiedAccess = new VerifiedTokens();

  constructor(
    private readonly jwtConfig: Config['jwt'],
    private readonly clock: Clock,
  ) {
    const { signer, verifiers } = accessKeys(jwtConfig);
    this.accessKey = signer;
    this.accessRing = new KeyRing(verifiers);
    this.refreshKey = hmacKey(jwtConfig.refreshSecret);
    this.refreshRing = new KeyRing([this.refreshKey.verification]);
  }

  /** The public keys of the access tokens, as a JWK Set; empty when only HS256 secrets are configured. */
  publicJwks(): { keys: EcPublicJwk[] } {
    return { keys: this.accessRing.list().flatMap((key) => publicJwk(key) ?? []) };
  }

  /** Issues an access token that never outlives its session. */
  signAccess(input: { userId: string; sessionId: string; tokenId: string; role: Role; amr: AuthMethods; sessionExpiresAtSec: number }): {
    token: string;
    expiresAt: number;
  } {
    const iat = epochSeconds(this.clock);
    const exp = Math.min(iat + this.jwtConfig.accessTtlSec, input.sessionExpiresAtSec);
    const claims = {
      iss: this.jwtConfig.issuer,
      aud: this.jwtConfig.audience,
      sub: input.userId,
      sid: input.sessionId,
      jti: input.tokenId,
      iat,
      exp,
      role: input.role,
      amr: input.amr,
    };
    return { token: signJwt(claims, ACCESS_TOKEN_TYPE, this.accessKey), expiresAt: exp };
  }

  /**
   * Issues a refresh token. Deterministic: the same inputs give the same token, which is how the
   * grace window hands a second tab the very successor the first tab received.
   */
  signRefresh(input: { userId: string; sessionId: string; tokenId: string; issuedAt: number; expiresAtSec: number; amr: AuthMethods }): string {
    const claims = {
      iss: this.jwtConfig.issuer,
      // Only this server consumes refresh tokens, so it is their audience.
      aud: this.jwtConfig.issuer,
      sub: input.userId,
      sid: input.sessionId,
      jti: input.tokenId,
      iat: input.issuedAt,
      exp: input.expiresAtSec,
      // The session's amr rides in its refresh token (only this server signs or reads one), so no
      // store has to keep it: every refreshed access token says how the session began.
      amr: input.amr,
    };
    return signJwt(claims, REFRESH_TOKEN_TYPE, this.refreshKey);
  }

  /**
   * The `mfa_token` of a sign-in waiting for its second factor: the user and this attempt (`jti`),
   * for `ttlSec`. Signed with the refresh key under its own type, so that neither token passes for
   * the other; its single use and its wrong-code budget are kept in the stores (see MfaService).
   */
  signMfaToken(input: { userId: string; tokenId: string; ttlSec: number }): string {
    const iat = epochSeconds(this.clock);
    const claims = { iss: this.jwtConfig.issuer, aud: this.jwtConfig.issuer, sub: input.userId, jti: input.tokenId, iat, exp: iat + input.ttlSec };
    return signJwt(claims, MFA_TOKEN_TYPE, this.refreshKey);
  }

  /** The user and attempt of an `mfa_token`, or AppError('invalid_grant') (401) when it is not one of ours or has expired. */
  verifyMfaToken(token: string, maxLifetimeSec: number): { userId: string; tokenId: string } {
    const result = verifyJwt(token, this.refreshRing, {
      typ: MFA_TOKEN_TYPE,
      issuer: this.jwtConfig.issuer,
      audience: this.jwtConfig.issuer,
      nowSec: epochSeconds(this.clock),
      maxLifetimeSec,
    });
    const userId = 'rejected' in result ? null : stringClaim(result.claims, 'sub');
    const tokenId = 'rejected' in result ? null : stringClaim(result.claims, 'jti');
    if (!userId || !tokenId) {
      const expired = 'rejected' in result && result.rejected === 'expired';
      throw new AppError('invalid_grant', {
        description: expired ? 'The sign-in has expired; log in again.' : 'The mfa_token is invalid; log in again.',
      });
    }
    return { userId, tokenId };
  }

  verifyAccess(token: string): AccessClaims {
    const nowSec = epochSeconds(this.clock);
    const remembered = this.verifiedAccess.get(token, nowSec);
    if (remembered) return remembered;
    const result = readAccessToken(token, this.accessRing, {
      issuer: this.jwtConfig.issuer,
      audience: this.jwtConfig.audience,
      nowSec,
      maxLifetimeSec: this.jwtConfig.accessTtlSec,
    });
    if ('rejected' in result) throw accessTokenError(result.rejected);
    this.verifiedAccess.remember(token, result.claims, nowSec);
    return result.claims;
  }

  /** Returns the claims, or throws AppError('invalid_grant'). */
  verifyRefresh(token: string, options: { allowExpired?: boolean } = {}): RefreshClaims {
    const result = verifyJwt(token, this.refreshRing, {
      typ: REFRESH_TOKEN_TYPE,
      issuer: this.jwtConfig.issuer,
      audience: this.jwtConfig.issuer,
      nowSec: epochSeconds(this.clock),
      maxLifetimeSec: this.jwtConfig.refreshTtlSec,
      allowExpired: options.allowExpired,
    });
    if ('rejected' in result) {
      throw new AppError('invalid_grant', {
        description: result.rejected === 'expired' ? 'The refresh token has expired.' : 'The refresh token is invalid.',
      });
    }
    const userId = stringClaim(result.claims, 'sub');
    const sessionId = stringClaim(result.claims, 'sid');
    const tokenId = stringClaim(result.claims, 'jti');
    // A refresh token from before amr was written began with a password alone.
    const amr = result.claims.amr === undefined ? PASSWORD_ONLY : methodsClaim(result.claims.amr);
    if (!userId || !sessionId || !tokenId || amr === null || !amr.every((method) => method === 'pwd' || method === 'otp')) {
      throw new AppError('invalid_grant', { description: 'The refresh token is invalid.' });
    }
    return { userId, sessionId, tokenId, amr: amr as AuthMethods, expired: result.expired };
  }
}
