// GET /openapi.json: an OpenAPI 3.1 document generated from the zod schemas, covering exactly the app's routes.
import request from 'supertest';
import type { z } from 'zod';
import packageJson from '../../package.json';
import type { AuthApp } from '../../src/app';
import { ERROR_TABLE, type ErrorCode } from '../../src/errors';
import { adminUserDetailSchema } from '../../src/http/openapi/admin-operations';
import { discoveryDocumentSchema } from '../../src/http/openapi/discovery-operations';
import * as documentModule from '../../src/http/openapi/document';
import { API_OPERATIONS } from '../../src/http/openapi/operations';
import * as responses from '../../src/http/response-schemas';
import { AUDIT_EVENT_TYPES } from '../../src/stores/audit-events';
import {
  adminCreateUserBody,
  adminUpdateUserBody,
  adminUserListQuery,
  auditQuery,
  deleteProfileBody,
  loginMfaBody,
  totpConfirmBody,
  totpDeleteBody,
  emailVerifyBody,
  emptyBody,
  loginBody,
  logoutBody,
  passwordChangeBody,
  passwordForgotBody,
  passwordResetBody,
  refreshBody,
  registerBody,
} from '../../src/http/schemas';
import { buildTestApp } from '../helpers/build-app';
import { schemaProblems, type JsonSchema } from '../helpers/json-schema';

type Operation = {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, Response>;
};
type Response = {
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema?: JsonSchema; examples?: Record<string, { value: { error: ErrorCode } }> }>;
};
type Document = JsonSchema & {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown>; responses: Record<string, Response> };
};

async function served(app = buildTestApp().app): Promise<{ document: Document; text: string }> {
  const res = await request(app).get('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  return { document: res.body as Document, text: res.text };
}

function operations(document: Document): [string, string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [path, method, op] as [string, string, Operation]),
  );
}

/** Every response of the document, with where it is: the operations' and the shared components'. */
function allResponses(document: Document): [string, string, Response][] {
  return [
    ...operations(document).flatMap(([path, method, op]) =>
      Object.entries(op.responses).map(([status, response]) => [`${method} ${path}`, status, response] as [string, string, Response]),
    ),
    ...Object.entries(document.components.responses).map(([name, response]) => {
      const status = name === 'NotFound' ? '404' : '405';
      return [`components.responses.${name}`, status, response] as [string, string, Response];
    }),
  ];
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/**
 * `METHOD /path` of every route the Express app has, read from its router (paths as OpenAPI
 * templates), each once: a route may have a layer ahead of the body parser too (sign-in shedding).
 */
function appRoutes(app: AuthApp): string[] {
  const found = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of ([] as string[]).concat(layer.route.path)) {
          for (const method of Object.keys(layer.route.methods).filter((name) => name !== '_all')) {
            found.add(`${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
          }
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...found];
}

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document of this server and version', async () => {
    const { document } = await served();
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info).toMatchObject({ title: 'auth-server', version: packageJson.version });
  });

  it('serves what the generator builds from the operations, the same bytes every time', async () => {
    const { app } = buildTestApp();
    const first = await served(app);
    const second = await served(app);
    expect(second.text).toBe(first.text);
    expect(first.document).toEqual(JSON.parse(JSON.stringify(documentModule.buildOpenApiDocument(API_OPERATIONS))));
  });

  it('builds the document once, when the app is created, not per request', async () => {
    const build = jest.spyOn(documentModule, 'buildOpenApiDocument');
    try {
      const { app } = buildTestApp();
      expect(build).toHaveBeenCalledTimes(1);
      await served(app);
      await served(app);
      expect(build).toHaveBeenCalledTimes(1);
    } finally {
      build.mockRestore();
    }
  });
});

describe('the paths', () => {
  // The demo page (GET /) and the scripts, stylesheets and images of the two HTML pages are not
  // API operations: the contract's route table lists neither.
  const NOT_API = (route: string) => route === 'GET /' || /\.(m?js|css|png|ico|svg|map)$/.test(route);

  it('are exactly the routes the app serves, method for method', async () => {
    // With an issuer URL: the discovery routes exist only then.
    const { app } = buildTestApp({ env: { JWT_ISSUER: 'https://auth.example.com' } });
    const { document } = await served(app);
    const documented = operations(document).map(([path, method]) => `${method.toUpperCase()} ${path}`);
    expect(documented.sort()).toEqual(appRoutes(app).filter((route) => !NOT_API(route)).sort());
  });

  it('cover the routes of the contract, each with its success status', async () => {
    const { document } = await served();
    const success = Object.fromEntries(
      operations(document).map(([path, method, op]) => [
        `${method.toUpperCase()} ${path}`,
        Object.keys(op.responses).filter((status) => status < '300'),
      ]),
    );
    expect(success).toEqual({
      'POST /register': ['201'],
      'POST /login': ['200'],
      'POST /mfa/totp': ['200'],
      'POST /mfa/totp/confirm': ['200'],
      'DELETE /mfa/totp': ['204'],
      'POST /login/mfa': ['200'],
      'POST /refresh': ['200'],
      'POST /logout': ['204'],
      'GET /profile': ['200'],
      'DELETE /profile': ['204'],
      'POST /password/change': ['200'],
      'POST /password/forgot': ['202'],
      'POST /password/reset': ['204'],
      'POST /email/verify': ['200'],
      'POST /email/verify/resend': ['202'],
      'GET /sessions': ['200'],
      'DELETE /sessions/{id}': ['204'],
      'GET /admin/users': ['200'],
      'POST /admin/users': ['201'],
      'GET /admin/users/{id}': ['200'],
      'PATCH /admin/users/{id}': ['200'],
      'DELETE /admin/users/{id}': ['204'],
      'DELETE /admin/users/{id}/sessions': ['204'],
      'DELETE /admin/users/{id}/mfa': ['204'],
      'GET /admin/audit': ['200'],
      'GET /.well-known/jwks.json': ['200'],
      'GET /.well-known/openid-configuration': ['200'],
      'GET /.well-known/oauth-authorization-server': ['200'],
      'POST /introspect': ['200'],
      'GET /health': ['200'],
      'GET /ready': ['200'],
      'GET /openapi.json': ['200'],
      'GET /docs': ['200'],
      'GET /metrics': ['200'],
    });
  });
});

describe('parameters', () => {
  it('documents the queries of GET /admin/users and GET /admin/audit, each parameter optional and described, and no query elsewhere', async () => {
    const { document } = await served();
    const query = operations(document).flatMap(([path, method, op]) =>
      (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ where: `${method} ${path}`, name: p.name, required: p.required })),
    );
    expect(query).toEqual([
      ...['limit', 'cursor', 'email'].map((name) => ({ where: 'get /admin/users', name, required: false })),
      ...['limit', 'cursor', 'user_id', 'type', 'since', 'until'].map((name) => ({ where: 'get /admin/audit', name, required: false })),
    ]);
    for (const path of ['/admin/users', '/admin/audit']) {
      for (const parameter of document.paths[path]!.get!.parameters!) {
        expect({ path, name: parameter.name, described: (parameter.description ?? '').length > 0 }).toEqual({ path, name: parameter.name, described: true });
      }
    }
  });

  it.each([
    ['/admin/users', adminUserListQuery],
    ['/admin/audit', auditQuery],
  ] as const)('documents the limit of GET %s as the route takes it: 1 to 200, 50 when absent', async (path, schema) => {
    const { document } = await served();
    const limit = document.paths[path]!.get!.parameters!.find((p) => p.name === 'limit')!;
    expect(limit.description).toMatch(/1 to 200; 50 when absent/);
    expect(limit.schema).toMatchObject({ type: 'string', pattern: '^\\d+$' });
    // What the document allows, the route takes; what it refuses, the route refuses too.
    for (const value of ['1', '50', '200']) {
      expect(schemaProblems(limit.schema!, value, document)).toEqual([]);
      expect(schema.safeParse({ limit: value }).success).toBe(true);
    }
    for (const value of ['x', '-1', '1000']) {
      expect(schemaProblems(limit.schema!, value, document)).not.toEqual([]);
      expect(schema.safeParse({ limit: value }).success).toBe(false);
    }
  });

  it('documents the type filter of GET /admin/audit as exactly the event types the route takes', async () => {
    const { document } = await served();
    const parameters = document.paths['/admin/audit']!.get!.parameters!;
    const type = parameters.find((p) => p.name === 'type')!;
    expect(type.schema).toMatchObject({ type: 'string', enum: [...AUDIT_EVENT_TYPES] });
    for (const value of AUDIT_EVENT_TYPES) expect(auditQuery.safeParse({ type: value }).success).toBe(true);
    expect(schemaProblems(type.schema!, 'login.maybe', document)).not.toEqual([]);
    expect(auditQuery.safeParse({ type: 'login.maybe' }).success).toBe(false);
    for (const name of ['since', 'until']) {
      const time = parameters.find((p) => p.name === name)!;
      expect({ name, schema: time.schema }).toMatchObject({ name, schema: { type: 'string' } });
      expect(time.description).toMatch(/ISO 8601/);
      expect(auditQuery.safeParse({ [name]: '2026-12-01T00:00:00Z' }).success).toBe(true);
      expect(auditQuery.safeParse({ [name]: 'yesterday' }).success).toBe(false);
    }
  });

  it('documents what GET /admin/audit answers: an AuditPage, and the errors of a bad query, a token, the role and the store', async () => {
    const { document } = await served();
    const responses = document.paths['/admin/audit']!.get!.responses;
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '403', '500', '503']);
    expect(responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/AuditPage' });
    const codes = (status: string) => Object.keys(responses[status]!.content!['application/json']!.examples!).sort();
    expect(codes('400')).toEqual(['invalid_request']);
    expect(codes('401')).toEqual(['invalid_token', 'unauthorized']);
    expect(codes('403')).toEqual(['insufficient_scope']);
    expect(codes('500')).toEqual(['server_error']);
    expect(codes('503')).toEqual(['unavailable']);
    const examples = responses['400']!.content!['application/json']!.examples as unknown as Record<string, { description: string }>;
    expect(examples.invalid_request!.description).toMatch(/cursor/);
    const page = document.components.schemas.AuditPage as { properties: Record<string, JsonSchema> };
    expect(page.properties.events).toEqual({ type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } });
  });

  it('documents the {id} of each path that has one as a required path parameter', async () => {
    const { document } = await served();
    for (const [path, method, op] of operations(document).filter(([path]) => path.includes('{id}'))) {
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect({ where: `${method} ${path}`, inPath: inPath.map((p) => [p.name, p.required, (p.description ?? '').length > 0]) }).toEqual({
        where: `${method} ${path}`,
        inPath: [['id', true, true]],
      });
    }
  });
});

describe('GET /metrics', () => {
  it('is documented as the Prometheus text format, with the statuses of METRICS_TOKEN and of production', async () => {
    const { document } = await served();
    const responses = document.paths['/metrics']!.get!.responses;
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '404']);
    expect(Object.keys(responses['200']!.content!)).toEqual(['text/plain']);
    expect(Object.keys(responses['401']!.content!['application/json']!.examples!).sort()).toEqual(['invalid_token', 'unauthorized']);
  });
});

describe('security', () => {
  it('declares the Bearer scheme, required on protected operations, optional on logout, absent elsewhere; METRICS_TOKEN optional on the scrape', async () => {
    const { document } = await served();
    expect(document.components.securitySchemes).toEqual({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: expect.any(String) },
      introspectionClient: { type: 'http', scheme: 'basic', description: expect.any(String) },
      metricsToken: { type: 'http', scheme: 'bearer', description: expect.any(String) },
    });
    const security = Object.fromEntries(operations(document).map(([path, method, op]) => [`${method} ${path}`, op.security]));
    const bearer = [{ bearerAuth: [] }];
    expect(security).toEqual({
      'post /register': [],
      'post /login': [],
      'post /mfa/totp': bearer,
      'post /mfa/totp/confirm': bearer,
      'delete /mfa/totp': bearer,
      'post /login/mfa': [],
      'post /refresh': [],
      'post /logout': [{ bearerAuth: [] }, {}],
      'get /profile': bearer,
      'delete /profile': bearer,
      'post /password/change': bearer,
      'post /password/forgot': [],
      'post /password/reset': [],
      'post /email/verify': [],
      'post /email/verify/resend': bearer,
      'get /sessions': bearer,
      'delete /sessions/{id}': bearer,
      'get /admin/users': bearer,
      'post /admin/users': bearer,
      'get /admin/users/{id}': bearer,
      'patch /admin/users/{id}': bearer,
      'delete /admin/users/{id}': bearer,
      'delete /admin/users/{id}/sessions': bearer,
      'delete /admin/users/{id}/mfa': bearer,
      'get /admin/audit': bearer,
      'get /.well-known/jwks.json': [],
      'get /.well-known/openid-configuration': [],
      'get /.well-known/oauth-authorization-server': [],
      'post /introspect': [{ introspectionClient: [] }],
      'get /health': [],
      'get /ready': [],
      'get /openapi.json': [],
      'get /docs': [],
      'get /metrics': [{ metricsToken: [] }, {}],
    });
  });

  it('documents cookie mode: X-Token-Mode where a session begins or ends; the __Host-refresh_token cookie where it is read', async () => {
    const { document } = await served();
    const parameters = (path: string) => document.paths[path]!.post!.parameters!.map((p) => `${p.in}:${p.name}`);
    expect(parameters('/login')).toEqual(['header:X-Token-Mode']);
    expect(parameters('/refresh')).toEqual(['header:X-Token-Mode', 'cookie:__Host-refresh_token']);
    expect(parameters('/logout')).toEqual(['header:X-Token-Mode', 'cookie:__Host-refresh_token']);
    expect(parameters('/password/change')).toEqual(['header:X-Token-Mode']);
    const withParameters = operations(document).filter(([, , op]) => op.parameters?.some((p) => p.name === 'X-Token-Mode'));
    expect(withParameters.map(([path]) => path).sort()).toEqual(['/login', '/login/mfa', '/logout', '/password/change', '/refresh']);
    for (const path of ['/login', '/refresh', '/logout', '/password/change']) {
      const success = Object.entries(document.paths[path]!.post!.responses).find(([status]) => status < '300')![1];
      expect(success.headers!['Set-Cookie']).toMatchObject({ required: false });
    }
  });
});

describe('errors', () => {
  it('gives every error response, and only those, the Error schema', async () => {
    const { document } = await served();
    for (const [where, status, response] of allResponses(document)) {
      const schema = response.content?.['application/json']?.schema;
      if (Number(status) >= 400) expect({ where, status, schema }).toEqual({ where, status, schema: { $ref: '#/components/schemas/Error' } });
      else expect({ where, status, isError: schema?.$ref === '#/components/schemas/Error' }).toEqual({ where, status, isError: false });
    }
  });

  it('defines Error with every code of the contract, a description and optional details', async () => {
    const { document } = await served();
    const error = document.components.schemas.Error as { properties: Record<string, JsonSchema>; required: string[] };
    expect(error.required).toEqual(['error', 'error_description']);
    expect(error.properties.error!.enum).toEqual(Object.keys(ERROR_TABLE));
    expect(error.properties.details).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/FieldProblem' } });
    expect(error).toMatchObject({ additionalProperties: false });
  });

  // RFC 6749 §5.2: a grant that is not valid is a 400; the contract keeps 401 for the refresh token.
  const ONE_TIME_TOKEN_ROUTES = ['post /password/reset', 'post /email/verify'];

  it('shows each code under the status the error table gives it (invalid_grant of a one-time token under 400), with an example valid for Error', async () => {
    const { document } = await served();
    const shown = new Set<string>();
    for (const [where, status, response] of allResponses(document)) {
      for (const [code, example] of Object.entries(response.content?.['application/json']?.examples ?? {})) {
        shown.add(code);
        const expected = code === 'invalid_grant' && ONE_TIME_TOKEN_ROUTES.includes(where) ? 400 : ERROR_TABLE[code as ErrorCode].status;
        expect({ where, code, status: Number(status) }).toEqual({ where, code, status: expected });
        expect({ where, problems: schemaProblems({ $ref: '#/components/schemas/Error' }, example.value, document) }).toEqual({ where, problems: [] });
        expect(responses.errorSchema.safeParse(example.value).success).toBe(true);
      }
    }
    expect([...shown].sort()).toEqual(Object.keys(ERROR_TABLE).sort());
  });

  it('documents invalid_grant of a reset or verification link as a 400 with its own description, and of a refresh token as a 401', async () => {
    const { document } = await served();
    const example = (path: string, status: string) =>
      document.paths[path]!.post!.responses[status]!.content!['application/json']!.examples!.invalid_grant?.value;
    for (const path of ['/password/reset', '/email/verify']) {
      expect(example(path, '400')).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/link is invalid, used or expired/) });
      expect(document.paths[path]!.post!.responses['401']).toBeUndefined();
    }
    expect(example('/refresh', '401')).toEqual({ error: 'invalid_grant', error_description: ERROR_TABLE.invalid_grant.description });
  });

  it('documents the headers of the contract: challenges, Retry-After and RateLimit, Allow, X-Request-Id', async () => {
    const { document } = await served();
    const headers = (path: string, method: string, status: string) => document.paths[path]![method]!.responses[status]!.headers!;
    // Every 401 names a scheme (RFC 9110), a 403 of the Bearer check too; a protected route's 400 may.
    for (const [where, status, response] of allResponses(document).filter(([, status]) => status === '401')) {
      expect({ where, status, challenge: response.headers?.['WWW-Authenticate'] }).toMatchObject({ challenge: { required: true } });
    }
    expect(headers('/admin/users', 'get', '403')['WWW-Authenticate']).toMatchObject({ required: true });
    expect(headers('/profile', 'get', '400')['WWW-Authenticate']).toMatchObject({ required: false });
    for (const path of ['/register', '/login', '/refresh', '/password/change', '/password/forgot', '/password/reset', '/email/verify']) {
      expect(headers(path, 'post', '429')).toMatchObject({
        'Retry-After': { required: true },
        RateLimit: { required: true },
        'RateLimit-Policy': { required: true },
      });
    }
    expect(document.components.responses.MethodNotAllowed!.headers!.Allow).toMatchObject({ required: true });
    for (const [where, status, response] of allResponses(document)) {
      expect({ where, status, requestId: response.headers?.['X-Request-Id'] }).toMatchObject({ requestId: { required: true } });
    }
  });
});

describe('the schemas', () => {
  // Each component next to the zod schema it is generated from.
  const SOURCES: [string, z.ZodObject][] = [
    ['RegisterRequest', registerBody],
    ['LoginRequest', loginBody],
    ['RefreshRequest', refreshBody],
    ['LogoutRequest', logoutBody],
    ['PasswordChangeRequest', passwordChangeBody],
    ['PasswordForgotRequest', passwordForgotBody],
    ['PasswordResetRequest', passwordResetBody],
    ['EmailVerifyRequest', emailVerifyBody],
    ['EmptyRequest', emptyBody],
    ['DeleteProfileRequest', deleteProfileBody],
    ['TotpConfirmRequest', totpConfirmBody],
    ['TotpDeleteRequest', totpDeleteBody],
    ['LoginMfaRequest', loginMfaBody],
    ['AdminCreateUserRequest', adminCreateUserBody],
    ['AdminUpdateUserRequest', adminUpdateUserBody],
    ['TotpEnrolment', responses.totpEnrolmentSchema],
    ['RecoveryCodes', responses.recoveryCodesSchema],
    ['User', responses.userSchema],
    ['Session', responses.sessionSchema],
    ['TokenResponse', responses.tokenResponseSchema],
    ['Error', responses.errorSchema],
    ['FieldProblem', responses.fieldProblemSchema],
    ['UserResponse', responses.userResponseSchema],
    ['AdminUser', responses.adminUserSchema],
    ['AdminUserResponse', responses.adminUserResponseSchema],
    ['AdminUserPage', responses.adminUserPageSchema],
    ['AdminUserDetail', adminUserDetailSchema],
    ['AuditEvent', responses.auditEventSchema],
    ['AuditPage', responses.auditPageSchema],
    ['SessionList', responses.sessionListSchema],
    ['Accepted', responses.acceptedSchema],
    ['Health', responses.healthSchema],
    ['Ready', responses.readySchema],
    ['Jwk', responses.jwkSchema],
    ['JwkSet', responses.jwkSetSchema],
    ['DiscoveryDocument', discoveryDocumentSchema],
  ];
  // Components that are not one object: the introspection answer is active-with-claims or inactive.
  const UNIONS = ['IntrospectionResponse'];

  it('are the zod schemas that validate requests and responses: same fields, same required ones, nothing extra', async () => {
    const { document } = await served();
    expect(Object.keys(document.components.schemas).sort()).toEqual([...SOURCES.map(([name]) => name), ...UNIONS].sort());
    for (const [name, schema] of SOURCES) {
      const component = document.components.schemas[name] as { properties: object; required?: string[]; additionalProperties: unknown };
      const fields = Object.keys(schema.shape);
      // A field is required when the schema refuses its absence (a default makes it optional).
      const required = fields.filter((field) => !(schema.shape[field] as z.ZodType).safeParse(undefined).success);
      expect({ name, fields: Object.keys(component.properties), required: component.required ?? [] }).toEqual({ name, fields, required });
      expect({ name, additionalProperties: component.additionalProperties }).toEqual({ name, additionalProperties: false });
    }
  });

  it('take each request body from the schema its route validates with', async () => {
    const { document } = await served();
    const body = (path: string) => document.paths[path]!.post!.requestBody!.content['application/json']!.schema;
    expect(body('/register')).toEqual({ $ref: '#/components/schemas/RegisterRequest' });
    expect(body('/login')).toEqual({ $ref: '#/components/schemas/LoginRequest' });
    expect(body('/refresh')).toEqual({ $ref: '#/components/schemas/RefreshRequest' });
    expect(body('/logout')).toEqual({ $ref: '#/components/schemas/LogoutRequest' });
    expect(body('/password/change')).toEqual({ $ref: '#/components/schemas/PasswordChangeRequest' });
    expect(body('/password/forgot')).toEqual({ $ref: '#/components/schemas/PasswordForgotRequest' });
    expect(body('/password/reset')).toEqual({ $ref: '#/components/schemas/PasswordResetRequest' });
    expect(body('/email/verify')).toEqual({ $ref: '#/components/schemas/EmailVerifyRequest' });
    expect(body('/email/verify/resend')).toEqual({ $ref: '#/components/schemas/EmptyRequest' });
    expect(body('/admin/users')).toEqual({ $ref: '#/components/schemas/AdminCreateUserRequest' });
    expect(document.paths['/admin/users/{id}']!.patch!.requestBody!.content['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/AdminUpdateUserRequest',
    });
    expect(document.paths['/profile']!.delete!.requestBody!.content['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/DeleteProfileRequest',
    });
    expect(document.components.schemas.RegisterRequest).toMatchObject({
      properties: { email: { type: 'string', format: 'email', maxLength: 254 }, password: { type: 'string', minLength: 8, maxLength: 128 } },
    });
    // RFC 7662's form body, or the same as JSON; unknown parameters are ignored, so not refused.
    const introspect = document.paths['/introspect']!.post!.requestBody!.content;
    expect(Object.keys(introspect)).toEqual(['application/x-www-form-urlencoded', 'application/json']);
    for (const media of Object.values(introspect)) {
      expect(media.schema).toMatchObject({ properties: { token: { type: 'string' }, token_type_hint: { type: 'string' } }, required: ['token'] });
      expect(media.schema.additionalProperties).not.toBe(false);
    }
  });

  it('describe an introspection answer as exactly one of active-with-claims and inactive', async () => {
    const { document } = await served();
    const ref = { $ref: '#/components/schemas/IntrospectionResponse' };
    expect(schemaProblems(ref, { active: false }, document)).toEqual([]);
    expect(schemaProblems(ref, { active: false, sub: 'u1' }, document)).toHaveLength(1);
    expect(schemaProblems(ref, { active: true }, document)).toHaveLength(1);
  });

  it('are checked strictly by the tests: an extra field, a missing one or a wrong value is a problem', async () => {
    const { document } = await served();
    const user = { id: 'u1', email: 'ann@example.com', role: 'user', created_at: '2026-01-15T09:30:00.000Z', email_verified: false, mfa_enabled: false };
    const ref = { $ref: '#/components/schemas/User' };
    expect(schemaProblems(ref, user, document)).toEqual([]);
    expect(schemaProblems(ref, { ...user, password_hash: '$2b$12$x' }, document)).toEqual([
      '$ has "password_hash", which the schema does not allow',
    ]);
    expect(schemaProblems(ref, { ...user, role: 'root', created_at: 'yesterday' }, document)).toEqual([
      '$.role is "root", not one of the enum',
      '$.created_at is not a date-time',
    ]);
    const { email: _email, ...withoutEmail } = user;
    expect(schemaProblems(ref, withoutEmail, document)).toEqual(['$ lacks the required "email"']);
    expect(() => schemaProblems({ type: 'string', contentEncoding: 'base64' }, 'x', document)).toThrow(/unsupported keyword/);
  });
});
