// One log line per request with a request id; headers, bodies and query strings are never logged.
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../lib/logger';

declare module 'express-serve-static-core' {
  interface Request {
    /** This request's id, also sent back as X-Request-Id. Set by requestLogger. */
    id?: string;
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request ids: unique, not secret. A random prefix per app (so that instances and restarts do not
 * collide) and a counter, 22 characters of [A-Za-z0-9_-]; far cheaper than random bytes per request.
 */
function requestIds(): () => string {
  const prefix = randomBytes(8).toString('base64url');
  let counter = 0;
  return () => prefix + (counter++).toString(36).padStart(11, '0');
}

/** What identifies a request in a log line: the path without its query (which could hold a token). */
export function requestSummary(req: Request): { id: string | undefined; method: string; path: string; ip: string | undefined } {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return { id: req.id, method: req.method, path: query < 0 ? url : url.slice(0, query), ip: req.ip };
}

/**
 * Logs each request once, when its response has been sent or its connection closed first. The
 * line is built only then and only from a few fields: no child logger per request, which is what
 * made pino-http cost more than the rest of a protected request together (see bench/).
 */
export function requestLogger(logger: Logger): RequestHandler {
  const nextId = requestIds();
  // The line holds only the fields below, none of them a credential, so redaction (7 µs a line,
  // most of this middleware's cost) has nothing to find in it and is left out for it alone.
  const lines = logger.child({}, { redact: [] });
  return function logRequest(req: Request, res: Response, next: NextFunction): void {
    // Reuse a caller's (proxy's) request id when it is harmless to echo; otherwise make one.
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : nextId();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const started = Date.now();
    // 'close' follows 'finish' on every response, and comes alone when the client went away first.
    res.once('close', () => {
      const status = res.statusCode;
      const line = { req: requestSummary(req), res: { status }, responseTime: Date.now() - started };
      if (!res.writableFinished) lines.info(line, 'request aborted');
      else if (status >= 500) lines.error(line, 'request errored');
      else lines.info(line, 'request completed');
    });
    next();
  };
}
