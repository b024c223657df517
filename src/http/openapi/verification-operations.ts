// The documented operations of routes/verifier-routes.ts: the public key set and token introspection.
import { introspectionSchema, jwkSetSchema } from '../response-schemas';
import { introspectBody, JWKS_MAX_AGE_SEC } from '../routes/verifier-routes';
import { BAD_BODY, STORE_ERRORS } from './common-errors';
import type { OperationSpec } from './types';

export const VERIFICATION_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    tag: 'Verification',
    summary: 'The public keys that verify access tokens (JWK Set)',
    description:
      'With `JWT_ALGORITHM=ES256`, the public keys by `kid`, new ones announced before they sign; with HS256 ' +
      `(the default) \`{"keys": []}\`. Cacheable for ${JWKS_MAX_AGE_SEC} seconds.`,
    auth: 'none',
    cacheable: true,
    success: { status: 200, description: 'The key set.', body: jwkSetSchema },
    errors: {},
  },
  {
    method: 'post',
    path: '/introspect',
    operationId: 'introspect',
    tag: 'Verification',
    summary: 'Is this access token in use? (RFC 7662)',
    description:
      'For services listed in `INTROSPECTION_CLIENTS`, with HTTP Basic. Takes the form-encoded body of RFC 7662 ' +
      '(JSON too); `token_type_hint` and unknown parameters are ignored. Unlike a signature check, it knows when ' +
      'a session has ended.',
    auth: 'client',
    body: { schema: introspectBody, required: true, mediaTypes: ['application/x-www-form-urlencoded', 'application/json'] },
    success: { status: 200, description: 'Active with its claims, or not active.', body: introspectionSchema },
    errors: {
      invalid_request: `${BAD_BODY}; or two \`Authorization\` headers`,
      unauthorized: 'no client credentials, or not those of a listed client (a `Basic` challenge)',
      payload_too_large: 'the body is over 10 kB',
      unsupported_media_type: 'a body neither form-encoded nor JSON',
      ...STORE_ERRORS,
    },
  },
];
