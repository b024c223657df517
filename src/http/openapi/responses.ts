// Expands an operation into its documented responses (status, body, error codes, headers): one expansion for the document and the tests.
import type { z } from 'zod';
import { ERROR_TABLE, type ErrorCode } from '../../errors';
import { errorSchema } from '../response-schemas';
import type { HeaderName } from './headers';
import type { ErrorSpec, OperationSpec } from './types';

export interface DocumentedError {
  code: ErrorCode;
  when: string;
  description?: string;
}

export interface DocumentedResponse {
  status: number;
  description: string;
  /** The JSON body; undefined for a response without one (204), an HTML page or plain text. */
  body?: z.ZodType;
  mediaType?: 'application/json' | 'text/html' | 'text/plain';
  /** For an error response: the codes it may carry, each with when (and its description where the route gives its own). */
  errors?: DocumentedError[];
  /** Headers documented on the response, and whether every such response carries them. */
  headers: Partial<Record<HeaderName, { required: boolean }>>;
}

/** Unknown routes: not tied to an operation. */
export const NOT_FOUND_RESPONSE: DocumentedResponse = {
  status: 404,
  description: 'No route has this path (`not_found`).',
  body: errorSchema,
  mediaType: 'application/json',
  errors: [{ code: 'not_found', when: 'no route has this path' }],
  headers: { 'X-Request-Id': { required: true } },
};

/** A known path with a method it does not take; OPTIONS answers 204 with the same `Allow`. */
export const METHOD_NOT_ALLOWED_RESPONSE: DocumentedResponse = {
  status: 405,
  description: 'The path exists but does not take this method (`method_not_allowed`); `Allow` lists the ones it takes.',
  body: errorSchema,
  mediaType: 'application/json',
  errors: [{ code: 'method_not_allowed', when: 'the path does not take this method' }],
  headers: { Allow: { required: true }, 'X-Request-Id': { required: true } },
};

function successResponse(op: OperationSpec): DocumentedResponse {
  const { success } = op;
  const headers: DocumentedResponse['headers'] = { 'X-Request-Id': { required: true } };
  if (op.carriesTokens || op.cacheable) headers['Cache-Control'] = { required: true };
  if (op.rateLimited) {
    headers.RateLimit = { required: true };
    headers['RateLimit-Policy'] = { required: true };
  }
  if (op.cookieMode) headers['Set-Cookie'] = { required: false };
  const cookieNote = op.cookieMode ? ` In cookie mode: ${op.cookieMode.setCookie}` : '';
  return {
    status: success.status,
    description: success.description + cookieNote,
    ...(success.mediaType
      ? { mediaType: success.mediaType }
      : success.body
        ? { body: success.body, mediaType: 'application/json' as const }
        : {}),
    headers,
  };
}

function errorResponse(op: OperationSpec, status: number, errors: DocumentedError[]): DocumentedResponse {
  const headers: DocumentedResponse['headers'] = { 'X-Request-Id': { required: true } };
  // Every 401 names a scheme (RFC 9110 §11.6.1), and so does a 403 of the Bearer check. A 400 of a
  // protected route has one when the Authorization header was the problem, not the body.
  if (status === 401 || (status === 403 && op.auth !== 'none')) headers['WWW-Authenticate'] = { required: true };
  else if (status === 400 && op.auth !== 'none') headers['WWW-Authenticate'] = { required: false };
  if (status === 429) {
    headers['Retry-After'] = { required: true };
    headers.RateLimit = { required: true };
    headers['RateLimit-Policy'] = { required: true };
  }
  // Password hashing at capacity (PASSWORD_HASH_QUEUE) says when to come back; a store outage does not.
  if (status === 503 && op.hashesPasswords) headers['Retry-After'] = { required: false };
  const description = errors.map(({ code, when }) => `\`${code}\`: ${when}`).join('; ');
  return { status, description: `${description}.`, body: errorSchema, mediaType: 'application/json', errors, headers };
}

/** The responses of `op`, success first, then one per error status in ascending order. */
export function operationResponses(op: OperationSpec): DocumentedResponse[] {
  const byStatus = new Map<number, DocumentedError[]>();
  for (const [code, spec] of Object.entries(op.errors) as [ErrorCode, string | ErrorSpec][]) {
    const { when, status = ERROR_TABLE[code].status, description } = typeof spec === 'string' ? { when: spec } : spec;
    byStatus.set(status, [...(byStatus.get(status) ?? []), { code, when, ...(description ? { description } : {}) }]);
  }
  const errors = [...byStatus.entries()].sort(([a], [b]) => a - b);
  return [successResponse(op), ...errors.map(([status, list]) => errorResponse(op, status, list))];
}
