// The declaration of one route for the OpenAPI document: what it takes, what it answers, which errors and why.
import type { z } from 'zod';
import type { ErrorCode } from '../../errors';

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

/**
 * Who may call: nobody in particular, a Bearer access token, a Bearer access token of an admin,
 * (logout) a refresh token and/or a Bearer access token, (introspection) a client with HTTP Basic,
 * or (the metrics scrape) `METRICS_TOKEN` as a Bearer token when one is set.
 */
export type Auth = 'none' | 'bearer' | 'admin' | 'bearer-or-refresh' | 'client' | 'metrics';

export type Tag = 'Authentication' | 'Account' | 'Password and email' | 'Admin' | 'Verification' | 'Service';

export interface SuccessSpec {
  status: 200 | 201 | 202 | 204;
  description: string;
  /** The JSON body; none for a 204. */
  body?: z.ZodType;
  /** Not JSON: the docs page answers HTML, the metrics scrape plain text. */
  mediaType?: 'text/html' | 'text/plain';
}

/**
 * An error the route answers otherwise than the error table says: under another status (a one-time
 * token's `invalid_grant` is 400, RFC 6749 §5.2), with the description the route gives.
 */
export interface ErrorSpec {
  when: string;
  status?: number;
  description?: string;
}

export interface OperationSpec {
  method: HttpMethod;
  /** An OpenAPI path template, e.g. `/sessions/{id}`. */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  auth: Auth;
  pathParams?: z.ZodObject;
  /** The query parameters: the schema the route validates `req.query` with, each field described. */
  queryParams?: z.ZodObject;
  /** The request body; JSON unless `mediaTypes` says otherwise. */
  body?: { schema: z.ZodType; required: boolean; mediaTypes?: string[] };
  /**
   * Takes part in cookie mode (`X-Token-Mode: cookie`): `setCookie` says what the success
   * response does with the cookie, `readsCookie` whether the refresh token may come from it.
   */
  cookieMode?: { readsCookie: boolean; setCookie: string };
  /** Behind a rate limiter: RateLimit headers on success, 429 when exhausted. */
  rateLimited?: boolean;
  /** The success response carries tokens (and so `Cache-Control: no-store`). */
  carriesTokens?: boolean;
  /** Hashes or compares a password: 503 with Retry-After when every hashing slot and the queue are taken. */
  hashesPasswords?: boolean;
  /** The success response may be cached (`Cache-Control: public, max-age=...`). */
  cacheable?: boolean;
  success: SuccessSpec;
  /** Every error code the route can answer, each with when it happens (one sentence). */
  errors: Partial<Record<ErrorCode, string | ErrorSpec>>;
}
