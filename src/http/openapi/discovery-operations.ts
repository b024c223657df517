// The documented operations of routes/discovery-routes.ts: the RFC 8414 and OpenID Connect discovery documents.
import { z } from 'zod';
import { DISCOVERY_PATHS } from '../routes/discovery-routes';
import { JWKS_MAX_AGE_SEC } from '../routes/verifier-routes';
import type { OperationSpec } from './types';

const httpUrl = (description: string) => z.string().regex(/^https?:\/\/\S+$/).meta({ description });

/** The served document, member for member (routes/discovery-routes.ts says why each is there and what is left out). */
export const discoveryDocumentSchema = z
  .strictObject({
    issuer: httpUrl('`JWT_ISSUER`, equal to the `iss` of every token.'),
    jwks_uri: httpUrl('`GET /.well-known/jwks.json` under the issuer.'),
    introspection_endpoint: httpUrl('`POST /introspect` under the issuer (RFC 7662).'),
    introspection_endpoint_auth_methods_supported: z.array(z.literal('client_secret_basic')),
    service_documentation: httpUrl('`GET /docs` under the issuer.'),
    response_types_supported: z.array(z.string()).meta({ description: 'Always empty: there is no authorization endpoint.' }),
    grant_types_supported: z.array(z.string()).meta({
      description: 'Always empty: `/login` and `/refresh` are not OAuth grants (and an absent list would mean authorization_code and implicit).',
    }),
    subject_types_supported: z.array(z.literal('public')),
    id_token_signing_alg_values_supported: z.array(z.enum(['HS256', 'ES256'])).meta({
      description:
        'The algorithm of the access tokens (`JWT_ALGORITHM`); no ID tokens are issued, verifiers read the allowed algorithms here. ' +
        'Only ES256 tokens can be checked through `jwks_uri`.',
    }),
  })
  .meta({
    id: 'DiscoveryDocument',
    description: 'Authorization server metadata (RFC 8414 §2), also served as the OpenID Connect discovery document.',
  });

const DESCRIPTION =
  'Served when `JWT_ISSUER` is an http(s) URL (no query, fragment or credentials), so that verifiers given only the issuer ' +
  'and the audience (express-oauth2-jwt-bearer, jose) find the keys. Every URL in it is the issuer followed by the path, ' +
  'mount prefix included. With HS256 (the default) `jwks_uri` publishes no key: only holders of the secret can check tokens. ' +
  `Cacheable for ${JWKS_MAX_AGE_SEC} seconds.`;

const [OIDC_PATH, RFC8414_PATH] = DISCOVERY_PATHS;

function discoveryOperation(path: string, operationId: string, summary: string): OperationSpec {
  return {
    method: 'get',
    path,
    operationId,
    tag: 'Verification',
    summary,
    description: DESCRIPTION,
    auth: 'none',
    cacheable: true,
    success: { status: 200, description: 'The metadata of this server.', body: discoveryDocumentSchema },
    errors: { not_found: '`JWT_ISSUER` is not an http(s) URL: there is nothing to discover' },
  };
}

export const DISCOVERY_OPERATIONS: OperationSpec[] = [
  discoveryOperation(OIDC_PATH, 'openidConfiguration', 'OpenID Connect discovery document'),
  discoveryOperation(RFC8414_PATH, 'authorizationServerMetadata', 'Authorization server metadata (RFC 8414)'),
];
