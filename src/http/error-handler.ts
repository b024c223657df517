// The one place any error becomes the contract's JSON: stable code, one sentence, nothing internal.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors';
import { bearerError, REALM } from './bearer';
import { requestSummary } from './request-logger';
import type { Logger } from '../lib/logger';

/** body-parser's error types, by the contract's code for them. */
const BODY_ERRORS: Record<string, AppError> = {
  'entity.too.large': new AppError('payload_too_large'),
  'entity.parse.failed': new AppError('invalid_request', { description: 'The body is not valid JSON.' }),
  'encoding.unsupported': new AppError('unsupported_media_type', {
    description: 'Compressed request bodies are not accepted.',
  }),
  'charset.unsupported': new AppError('unsupported_media_type', { description: 'The body must be UTF-8 JSON.' }),
};

/** Maps anything thrown to an AppError; unknown failures become a bare 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fields = (error ?? {}) as { type?: unknown; status?: unknown; statusCode?: unknown };
  if (typeof fields.type === 'string' && BODY_ERRORS[fields.type]) return BODY_ERRORS[fields.type]!;
  const status = Number(fields.status ?? fields.statusCode);
  // Express and body-parser mark client mistakes (bad URL encoding, aborted body) with a 4xx.
  if (status >= 400 && status < 500) return new AppError('invalid_request', { cause: error });
  return new AppError('server_error', { cause: error });
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return function errorHandler(error, req, res, _next) {
    const appError = toAppError(error);
    // A failure is logged with what caused it. A 5xx the server chose to give, with no cause (a
    // sign-in refused while the hashing queue is full), is load being shed: the request's own log
    // line says so, and a flood of them must not become a flood of stack traces in the log.
    if (appError.status >= 500 && appError.cause !== undefined) {
      logger.error({ err: error, req: requestSummary(req) }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(appError.status).set(appError.headers).set('Cache-Control', 'no-store');
    // RFC 9110 §11.6.1: every 401 names a scheme, also where no Bearer challenge was built; a
    // Bearer token refused deeper down (its user gone) still gets RFC 6750's error and description.
    if (appError.status === 401 && !res.get('WWW-Authenticate')) {
      const challenge = appError.code === 'invalid_token' ? bearerError('invalid_token', appError.description).headers : { 'WWW-Authenticate': `Bearer realm="${REALM}"` };
      res.set(challenge);
    }
    res.json({
      error: appError.code,
      error_description: appError.description,
      ...(appError.details ? { details: appError.details } : {}),
    });
  };
}

/** The answer to a request no route took. */
export function noSuchRoute(): AppError {
  return new AppError('not_found', { description: 'No such route.' });
}

/** Unknown routes. */
export const notFound: RequestHandler = () => {
  throw noSuchRoute();
};
