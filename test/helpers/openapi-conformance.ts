// Checks real responses against the OpenAPI document: documented status, media type, headers, and a body valid for both the zod schema and the document's JSON Schema.
import type { Response } from 'supertest';
import { HEADERS, type HeaderName } from '../../src/http/openapi/headers';
import { API_OPERATIONS } from '../../src/http/openapi/operations';
import {
  METHOD_NOT_ALLOWED_RESPONSE,
  NOT_FOUND_RESPONSE,
  operationResponses,
  type DocumentedResponse,
} from '../../src/http/openapi/responses';
import type { OperationSpec } from '../../src/http/openapi/types';
import { schemaProblems, type JsonSchema } from './json-schema';

type OpenApiResponse = { content?: Record<string, { schema?: JsonSchema }>; headers?: Record<string, { required?: boolean }> };

/** `/sessions/{id}` → a RegExp matching `/sessions/abc`. */
export function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}$`);
}

export function findOperation(method: string, path: string): OperationSpec | undefined {
  return API_OPERATIONS.find((op) => op.method === method.toLowerCase() && templatePattern(op.path).test(path));
}

function pathKnown(path: string): boolean {
  return API_OPERATIONS.some((op) => templatePattern(op.path).test(path));
}

function headerValues(res: Response, name: string): string[] {
  const value = res.headers[name.toLowerCase()] as string | string[] | undefined;
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export interface Conformance {
  /**
   * Asserts that `res` is one of the documented responses of its route (or the shared 404/405)
   * and returns a key `METHOD /template STATUS` for coverage.
   */
  check(res: Response): string;
  /** Every documented `METHOD /template STATUS` no `check` has seen yet. */
  unexercised(): string[];
}

/** `document` is the served /openapi.json; the zod schemas come from the operations it was built from. */
export function createConformance(document: JsonSchema): Conformance {
  const seen = new Set<string>();
  const paths = document.paths as Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  const componentResponses = (document.components as { responses: Record<string, OpenApiResponse> }).responses;

  function expectBody(res: Response, documented: DocumentedResponse, inDocument: OpenApiResponse, where: string) {
    const contentType = res.headers['content-type'] as string | undefined;
    if (documented.mediaType === undefined) {
      expect({ where, body: res.text ?? '' }).toEqual({ where, body: '' });
      expect(inDocument.content).toBeUndefined();
      return;
    }
    // UTF-8 always; the Prometheus text format adds its version (`text/plain; version=0.0.4; charset=utf-8`).
    const expected = documented.mediaType === 'text/plain' ? /^text\/plain; version=0\.0\.4; charset=utf-8$/ : `${documented.mediaType}; charset=utf-8`;
    expect({ where, contentType }).toEqual({ where, contentType: typeof expected === 'string' ? expected : expect.stringMatching(expected) });
    const media = inDocument.content?.[documented.mediaType];
    expect({ where, documented: media !== undefined }).toEqual({ where, documented: true });
    if (documented.mediaType !== 'application/json') return;

    const parsed = documented.body!.safeParse(res.body);
    expect({ where, zodIssues: parsed.success ? [] : parsed.error.issues }).toEqual({ where, zodIssues: [] });
    expect({ where, schemaProblems: schemaProblems(media!.schema!, res.body, document) }).toEqual({ where, schemaProblems: [] });
    if (documented.errors) {
      const codes: string[] = documented.errors.map(({ code }) => code);
      const error = res.body.error as string;
      expect({ where, error, documentedCode: codes.includes(error) }).toEqual({ where, error, documentedCode: true });
    }
  }

  function expectHeaders(res: Response, documented: DocumentedResponse, inDocument: OpenApiResponse, where: string) {
    // The document states the same headers, with the same required-ness, as the expansion the tests use.
    const stated = Object.fromEntries(Object.entries(inDocument.headers ?? {}).map(([name, header]) => [name, { required: header.required ?? false }]));
    expect({ where, headers: stated }).toEqual({ where, headers: documented.headers });
    for (const [name, { required }] of Object.entries(documented.headers) as [HeaderName, { required: boolean }][]) {
      const values = headerValues(res, name);
      if (required) expect({ where, header: name, present: values.length > 0 }).toEqual({ where, header: name, present: true });
      for (const value of values) {
        const ok = HEADERS[name].schema.safeParse(value).success;
        expect({ where, header: name, value, ok }).toEqual({ where, header: name, value, ok: true });
      }
    }
  }

  return {
    check(res) {
      const method = res.request.method.toLowerCase();
      const path = new URL(res.request.url).pathname;
      const op = findOperation(method, path);
      let key: string;
      let documented: DocumentedResponse | undefined;
      let inDocument: OpenApiResponse | undefined;
      if (op) {
        key = `${method.toUpperCase()} ${op.path} ${res.status}`;
        documented = operationResponses(op).find((response) => response.status === res.status);
        inDocument = paths[op.path]?.[op.method]?.responses[String(res.status)];
      } else if (pathKnown(path)) {
        key = `${method.toUpperCase()} ${path} ${res.status} (MethodNotAllowed)`;
        documented = res.status === 405 ? METHOD_NOT_ALLOWED_RESPONSE : undefined;
        inDocument = componentResponses.MethodNotAllowed;
      } else {
        key = `${method.toUpperCase()} ${path} ${res.status} (NotFound)`;
        documented = res.status === 404 ? NOT_FOUND_RESPONSE : undefined;
        inDocument = componentResponses.NotFound;
      }
      expect({ response: key, documented: documented !== undefined && inDocument !== undefined, body: res.body }).toEqual({
        response: key,
        documented: true,
        body: res.body,
      });
      expectBody(res, documented!, inDocument!, key);
      expectHeaders(res, documented!, inDocument!, key);
      seen.add(key);
      return key;
    },

    unexercised() {
      return API_OPERATIONS.flatMap((op) =>
        operationResponses(op).map((response) => `${op.method.toUpperCase()} ${op.path} ${response.status}`),
      ).filter((key) => !seen.has(key));
    },
  };
}
