// One log line per request with a request id; headers, bodies and query strings are never logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../lib/logger';
import { randomId } from '../lib/random-id';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    // Reuse a caller's (proxy's) request id when it is harmless to echo; otherwise make one.
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomId();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    wrapSerializers: false,
    serializers: {
      // Only what identifies the request: the path without its query (which could hold a token).
      req: (req: IncomingMessage & { id?: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: (req.url ?? '').split('?')[0],
        ip: req.ip,
      }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
    },
  }) as unknown as RequestHandler;
}
