// What other services use to check tokens: GET /.well-known/jwks.json (public keys) and POST /introspect (RFC 7662).
// Mounted before the app's JSON-only body parser: /introspect takes the form-encoded body RFC 7662 sends.
import { Router } from 'express';
import { z } from 'zod';
import type { AccessClaims } from '../../auth/access-claims';
import type { EcPublicJwk } from '../../auth/keys';
import type { Config } from '../../config';
import { AppError } from '../../errors';
import { requireClient } from '../client-auth';
import { formOrJsonBody } from '../form-body';
import { defineRoute } from '../routing';
import { parseBody } from '../validate';
import { createAccessCheck, type SessionCheck } from '../verify-token';

/** How long caches may keep the key set: new keys are announced before they sign (see the README). */
export const JWKS_MAX_AGE_SEC = 300;

export interface VerifierRoutesDeps {
  tokens: { verifyAccess(token: string): AccessClaims; publicJwks(): { keys: EcPublicJwk[] } };
  /** The revocation check (an ended session is inactive). */
  sessions: SessionCheck;
  /** `jwt.issuer` and `jwt.audience` are echoed by introspection; its callers are `introspectionClients`. */
  config: Pick<Config, 'jwt' | 'introspectionClients'>;
}

/** RFC 7662 §2.1: `token` is required, `token_type_hint` optional, other parameters are ignored. */
export const introspectBody = z.object({
  token: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, { error: 'must not be empty' })
    .max(8192, { error: 'is too long' }),
  token_type_hint: z.string({ error: 'must be a string' }).optional(),
});

export function verifierRoutes({ tokens, sessions, config }: VerifierRoutesDeps): Router {
  const { issuer, audience } = config.jwt;
  const router = Router();
  const checkAccess = createAccessCheck({ tokens, sessions });
  const jwks = tokens.publicJwks();

  defineRoute(router, '/.well-known/jwks.json', {
    get: [
      (_req, res) => {
        // Public keys are meant to be cached, unlike every other answer of this API.
        res.removeHeader('Pragma');
        res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SEC}`);
        res.json(jwks);
      },
    ],
  });

  defineRoute(router, '/introspect', {
    post: [
      requireClient(config.introspectionClients),
      ...formOrJsonBody(),
      async (req, res) => {
        const { token } = parseBody(introspectBody, req.body);
        let claims: AccessClaims;
        try {
          claims = await checkAccess(token);
        } catch (error) {
          // Invalid, expired, revoked, or not an access token at all (a refresh token): all "not active".
          if (error instanceof AppError && error.code === 'invalid_token') {
            res.json({ active: false });
            return;
          }
          throw error;
        }
        res.json({
          active: true,
          token_type: 'Bearer',
          iss: issuer,
          aud: audience,
          sub: claims.userId,
          sid: claims.sessionId,
          jti: claims.tokenId,
          role: claims.role,
          iat: claims.issuedAt,
          exp: claims.expiresAt,
        });
      },
    ],
  });

  return router;
}
