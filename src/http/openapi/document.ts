// Builds the OpenAPI 3.1 document from the operations and their zod schemas (zod-to-openapi), once per app.
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_TABLE } from '../../errors';
import { errorSchema } from '../response-schemas';
import { HEADERS, type HeaderName } from './headers';
import {
  METHOD_NOT_ALLOWED_RESPONSE,
  NOT_FOUND_RESPONSE,
  operationResponses,
  type DocumentedError,
  type DocumentedResponse,
} from './responses';
import type { OperationSpec } from './types';

export const OPENAPI_VERSION = '3.1.1';
export const API_VERSION = '0.1.0';
export const BEARER_SCHEME = 'bearerAuth';
export const CLIENT_SCHEME = 'introspectionClient';
export const METRICS_SCHEME = 'metricsToken';

const DESCRIPTION = `An authentication server: email and password in, a short-lived access token (a JWT, HS256 or ES256,
15 minutes by default) and a rotating refresh token out.

- **JSON in and out.** A request body must be \`application/json\` (else \`415\`) of at most 10 kB (else \`413\`).
  Every error has the \`Error\` shape; a validation \`400\` adds \`details\`.
- **Bearer.** Protected routes take \`Authorization: Bearer <access_token>\`. Their \`401\`/\`403\` carry an RFC 6750
  \`WWW-Authenticate\` challenge. A token in the query string is never accepted.
- **Revocation.** An access token stops working as soon as its session ends (logout, reuse of a refresh token,
  \`DELETE /sessions/{id}\`, a password change or reset, the account's deletion, an admin disabling the account or
  ending its sessions), not only when it expires.
- **Mail.** Reset and verification links, and notices to the owner (password changed, a session ended by a reused
  refresh token), go out over SMTP (\`SMTP_URL\`); outside production without it each mail is written to the server
  log instead. In production without \`SMTP_URL\` the routes that send or redeem a link answer \`501 not_configured\`.
- **Cookie mode** (browser SPAs): with \`X-Token-Mode: cookie\` on \`/login\`, \`/refresh\` and \`/logout\` (and
  \`/password/change\`, which opens a new session) the refresh token travels only in the \`__Host-refresh_token\` cookie (\`HttpOnly; Secure; SameSite=Strict; Path=/\`, no \`Domain\`),
  which is read only when that header is sent; a request carrying two of them is \`401 invalid_grant\`.
- **Unknown paths** answer \`404 not_found\`; a known path with another method \`405 method_not_allowed\` with
  \`Allow\` (\`OPTIONS\` answers \`204\` with \`Allow\`).
- Every response carries \`X-Request-Id\`, and \`Cache-Control: no-store\` unless it is public: the key set at
  \`/.well-known/jwks.json\`, the discovery documents beside it, and the assets of this page.`;

const TAGS = [
  { name: 'Authentication', description: 'Accounts, sessions and their tokens.' },
  { name: 'Account', description: "The caller's own data (Bearer)." },
  { name: 'Password and email', description: 'Changing and resetting a password, proving the email address.' },
  { name: 'Admin', description: 'Role `admin` only.' },
  { name: 'Verification', description: 'For other services that trust these tokens.' },
  { name: 'Service', description: 'Probes for orchestrators, and this documentation.' },
];

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** A header value's JSON Schema: every header schema is a string with a pattern, or one literal. */
function headerValueSchema(name: HeaderName): { type: 'string'; pattern?: string; const?: string } {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(HEADERS[name].schema) as {
    $schema?: string;
    type: 'string';
    pattern?: string;
    const?: string;
  };
  return schema;
}

function headerObjects(response: DocumentedResponse) {
  return Object.fromEntries(
    (Object.entries(response.headers) as [HeaderName, { required: boolean }][]).map(([name, { required }]) => [
      name,
      { description: HEADERS[name].description, required, schema: headerValueSchema(name) },
    ]),
  );
}

/** One example per error code; a validation 400 shows `details` naming the body's first field. */
function errorExamples(errors: DocumentedError[], firstField: string | undefined) {
  return Object.fromEntries(
    errors.map(({ code, when, description }) => [
      code,
      {
        summary: code,
        description: when,
        value: {
          error: code,
          error_description: description ?? ERROR_TABLE[code].description,
          ...(code === 'invalid_request' && firstField ? { details: [{ path: firstField, message: 'must be a string' }] } : {}),
        },
      },
    ]),
  );
}

/** One documented response of an operation, as zod-to-openapi takes it. */
function responseConfig(response: DocumentedResponse, firstField: string | undefined): ResponseConfig {
  const config: ResponseConfig = { description: response.description, headers: headerObjects(response) };
  if (response.mediaType === 'text/html' || response.mediaType === 'text/plain') {
    config.content = { [response.mediaType]: { schema: { type: 'string' } } };
  } else if (response.body) {
    config.content = {
      'application/json': {
        schema: response.body,
        ...(response.errors ? { examples: errorExamples(response.errors, firstField) } : {}),
      },
    };
  }
  return config;
}

/** A response shared by every path (404, 405): a plain OpenAPI object referring to the Error schema. */
function componentResponse(response: DocumentedResponse) {
  return {
    description: response.description,
    headers: headerObjects(response),
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/Error' },
        examples: errorExamples(response.errors ?? [], undefined),
      },
    },
  };
}

const SECURITY: Record<OperationSpec['auth'], RouteConfig['security']> = {
  none: [],
  bearer: [{ [BEARER_SCHEME]: [] }],
  admin: [{ [BEARER_SCHEME]: [] }],
  // Either credential will do, so the Bearer requirement is optional (the empty object).
  'bearer-or-refresh': [{ [BEARER_SCHEME]: [] }, {}],
  client: [{ [CLIENT_SCHEME]: [] }],
  // Needed only when METRICS_TOKEN is set; without it the scrape is open (outside production).
  metrics: [{ [METRICS_SCHEME]: [] }, {}],
};

function routeConfig(op: OperationSpec): RouteConfig {
  const parameters: RouteConfig['parameters'] = [];
  if (op.cookieMode) {
    parameters.push({
      name: 'X-Token-Mode',
      in: 'header',
      required: false,
      description: '`cookie` asks for cookie mode (the refresh token in an HttpOnly cookie, never in a body).',
      schema: { type: 'string', enum: ['cookie'] },
    });
  }
  if (op.cookieMode?.readsCookie) {
    parameters.push({
      name: '__Host-refresh_token',
      in: 'cookie',
      required: false,
      description: 'Cookie mode: the refresh token, read only with `X-Token-Mode: cookie`; two of them are refused (`401 invalid_grant`).',
      schema: { type: 'string' },
    });
  }
  const firstField = op.body?.schema instanceof z.ZodObject ? Object.keys(op.body.schema.shape)[0] : undefined;
  return {
    method: op.method,
    path: op.path,
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY[op.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    request: {
      ...(op.pathParams ? { params: op.pathParams } : {}),
      ...(op.queryParams ? { query: op.queryParams } : {}),
      ...(op.body
        ? {
            body: {
              required: op.body.required,
              content: Object.fromEntries(
                (op.body.mediaTypes ?? ['application/json']).map((type) => [type, { schema: op.body!.schema }]),
              ),
            },
          }
        : {}),
    },
    responses: Object.fromEntries(
      operationResponses(op).map((response) => [String(response.status), responseConfig(response, firstField)]),
    ),
  };
}

/** The whole document. Pure: the same operations always give the same document. */
export function buildOpenApiDocument(operations: readonly OperationSpec[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The `access_token` of a TokenResponse. It expires (`expires_in`) and is revoked when its session ends; ' +
      'on `token expired` call `POST /refresh`.',
  });
  registry.registerComponent('securitySchemes', CLIENT_SCHEME, {
    type: 'http',
    scheme: 'basic',
    description: 'A client id and secret from `INTROSPECTION_CLIENTS`.',
  });
  registry.registerComponent('securitySchemes', METRICS_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'For `GET /metrics`: the value of `METRICS_TOKEN`, when the server sets one.',
  });
  registry.registerComponent('responses', 'NotFound', componentResponse(NOT_FOUND_RESPONSE));
  registry.registerComponent('responses', 'MethodNotAllowed', componentResponse(METHOD_NOT_ALLOWED_RESPONSE));
  for (const op of operations) registry.registerPath(routeConfig(op));

  // errorSchema is listed so the Error component exists even for a document without error responses.
  const generator = new OpenApiGeneratorV31([...registry.definitions, errorSchema]);
  return generator.generateDocument({
    openapi: OPENAPI_VERSION,
    info: { title: 'auth-server', version: API_VERSION, description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    tags: TAGS,
  });
}
