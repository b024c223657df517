// Access and refresh tokens: what they carry, how they are issued, and how they are checked.
import type { Config, Role } from '../config';
import { AppError } from '../errors';
import { epochSeconds, type Clock } from '../lib/clock';
import { signJwt, signingKey, stringClaim, verifyJwt, type SigningKey } from './jwt';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const REFRESH_TOKEN_TYPE = 'rt+jwt';

/** The verified content of an access token. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  role: Role;
  issuedAt: number;
  expiresAt: number;
}

/** The verified content of a refresh token. */
export interface RefreshClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  /** True when the token was accepted although expired (only when asked for). */
  expired: boolean;
}

/** Checks access tokens. All another router (or service) needs to guard its routes. */
export interface AccessTokenVerifier {
  /** Returns the claims, or throws AppError('invalid_token') saying "token expired" or "token invalid". */
  verifyAccess(token: string): AccessClaims;
}

const ROLES: readonly Role[] = ['user', 'admin'];

export class TokenService implements AccessTokenVerifier {
  private readonly accessKey: SigningKey;
  private readonly refreshKey: SigningKey;

  constructor(
    private readonly jwtConfig: Config['jwt'],
    private readonly clock: Clock,
  ) {
    this.accessKey = signingKey(jwtConfig.accessSecret);
    this.refreshKey = signingKey(jwtConfig.refreshSecret);
  }

  /** Issues an access token that never outlives its session. */
  signAccess(input: { userId: string; sessionId: string; tokenId: string; role: Role; sessionExpiresAtSec: number }): {
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
    };
    return { token: signJwt(claims, ACCESS_TOKEN_TYPE, this.accessKey), expiresAt: exp };
  }

  /**
   * Issues a refresh token. Deterministic: the same inputs give the same token, which is how the
   * grace window hands a second tab the very successor the first tab received.
   */
  signRefresh(input: { userId: string; sessionId: string; tokenId: string; issuedAt: number; expiresAtSec: number }): string {
    const claims = {
      iss: this.jwtConfig.issuer,
      // Only this server consumes refresh tokens, so it is their audience.
      aud: this.jwtConfig.issuer,
      sub: input.userId,
      sid: input.sessionId,
      jti: input.tokenId,
      iat: input.issuedAt,
      exp: input.expiresAtSec,
    };
    return signJwt(claims, REFRESH_TOKEN_TYPE, this.refreshKey);
  }

  verifyAccess(token: string): AccessClaims {
    const result = verifyJwt(token, this.accessKey, {
      typ: ACCESS_TOKEN_TYPE,
      issuer: this.jwtConfig.issuer,
      audience: this.jwtConfig.audience,
      nowSec: epochSeconds(this.clock),
      maxLifetimeSec: this.jwtConfig.accessTtlSec,
    });
    if ('rejected' in result) {
      throw new AppError('invalid_token', {
        description: result.rejected === 'expired' ? 'token expired' : 'token invalid',
      });
    }
    const { claims } = result;
    const userId = stringClaim(claims, 'sub');
    const sessionId = stringClaim(claims, 'sid');
    const tokenId = stringClaim(claims, 'jti');
    const role = claims.role as Role;
    if (!userId || !sessionId || !tokenId || !ROLES.includes(role)) {
      throw new AppError('invalid_token', { description: 'token invalid' });
    }
    return { userId, sessionId, tokenId, role, issuedAt: claims.iat as number, expiresAt: claims.exp as number };
  }

  /** Returns the claims, or throws AppError('invalid_grant'). */
  verifyRefresh(token: string, options: { allowExpired?: boolean } = {}): RefreshClaims {
    const result = verifyJwt(token, this.refreshKey, {
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
    if (!userId || !sessionId || !tokenId) {
      throw new AppError('invalid_grant', { description: 'The refresh token is invalid.' });
    }
    return { userId, sessionId, tokenId, expired: result.expired };
  }
}
