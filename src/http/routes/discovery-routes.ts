// Standard discovery (RFC 8414, OpenID Connect Discovery 1.0): what off-the-shelf verifiers need, given only the issuer URL.
import { Router } from 'express';
import type { Config } from '../../config';
import { discoverableIssuer } from '../../config/tokens';
import { defineRoute } from '../routing';
import { JWKS_MAX_AGE_SEC } from './verifier-routes';

/** Where verifiers look: OpenID Connect's name first (express-oauth2-jwt-bearer tries it first), then RFC 8414's. */
export const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'] as const;

/**
 * The metadata this server publishes; every member is true of it. Left out on purpose:
 * `authorization_endpoint` and `token_endpoint` (`/login` and `/refresh` take JSON, not RFC 6749
 * grants, so naming either would send OAuth clients to an endpoint that refuses them),
 * `revocation_endpoint` (`/logout` is not RFC 7009) and `scopes_supported` (tokens carry no scope).
 */
export interface DiscoveryDocument {
  /** JWT_ISSUER exactly as every token's `iss` carries it. */
  issuer: string;
  /** The JWK Set: ES256 public keys, or `{"keys": []}` with HS256 (a shared secret is never published). */
  jwks_uri: string;
  /** RFC 7662, for the clients of INTROSPECTION_CLIENTS. */
  introspection_endpoint: string;
  /** RFC 8414 §2: how those clients authenticate (HTTP Basic, see http/client-auth.ts). */
  introspection_endpoint_auth_methods_supported: ['client_secret_basic'];
  /** The human-readable API documentation (GET /docs). */
  service_documentation: string;
  /**
   * REQUIRED by RFC 8414 and OpenID Connect Discovery; empty because there is no authorization
   * endpoint. Present rather than absent so that a parser that insists on it finds the truth.
   */
  response_types_supported: [];
  /** Empty, and present: RFC 8414 §2 reads an absent list as ["authorization_code", "implicit"]. */
  grant_types_supported: [];
  /** OpenID Connect Discovery requires it; `sub` is the same user id whoever reads the token. */
  subject_types_supported: ['public'];
  /**
   * The algorithm access tokens are signed with. No ID tokens are issued: the name is the one
   * verifiers read the allowed algorithms from (express-oauth2-jwt-bearer restricts `alg` to it).
   * HS256 tokens can be checked only by holders of the secret, never through `jwks_uri`.
   */
  id_token_signing_alg_values_supported: [Config['jwt']['algorithm']];
}

/** The discovery document of `jwt`, or null when its issuer is not a discoverable URL. */
export function discoveryDocument(jwt: Pick<Config['jwt'], 'issuer' | 'algorithm'>): DiscoveryDocument | null {
  const issuer = discoverableIssuer(jwt.issuer);
  if (issuer === null) return null;
  // The server is reachable at its issuer, mount prefix included: https://example.com/auth → https://example.com/auth/.well-known/jwks.json.
  const base = issuer.replace(/\/+$/, '');
  return {
    issuer,
    jwks_uri: `${base}/.well-known/jwks.json`,
    introspection_endpoint: `${base}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
    service_documentation: `${base}/docs`,
    response_types_supported: [],
    grant_types_supported: [],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [jwt.algorithm],
  };
}

export interface DiscoveryRoutesDeps {
  config: Pick<Config, 'jwt'>;
}

/** GET on both discovery paths when JWT_ISSUER is an http(s) URL; an empty router (so 404) otherwise. */
export function discoveryRoutes({ config }: DiscoveryRoutesDeps): Router {
  const router = Router();
  const document = discoveryDocument(config.jwt);
  if (document === null) return router;

  for (const path of DISCOVERY_PATHS) {
    defineRoute(router, path, {
      get: [
        (_req, res) => {
          // Public and stable like the key set it points to: verifiers may cache it as long.
          res.removeHeader('Pragma');
          res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SEC}`);
          res.json(document);
        },
      ],
    });
  }
  return router;
}
