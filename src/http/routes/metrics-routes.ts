// GET /metrics: the Prometheus scrape, behind METRICS_TOKEN when one is set.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { bearerError, readBearerToken } from '../bearer';
import type { AppMetrics } from '../metrics';
import { defineRoute } from '../routing';

/**
 * The route, mounted only when metrics are on (a production server without METRICS_TOKEN has no
 * such route: 404). `token` null: open, which the config allows outside production only.
 */
export function metricsRoutes(metrics: AppMetrics, token: string | null): Router {
  const router = Router();
  const { contentType } = metrics.registry;

  defineRoute(router, '/metrics', {
    get: [
      scrapeGuard(token),
      async (_req, res) => {
        const text = await metrics.scrape();
        // Not res.send: it would rewrite prom-client's Content-Type (its parameters reordered).
        res.statusCode = 200;
        res.setHeader('Content-Type', contentType);
        res.setHeader('Content-Length', Buffer.byteLength(text));
        res.end(text);
      },
    ],
  });

  return router;
}

/** Fixed-length digests, so that the comparison takes the same time whatever was sent, its length included. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. No credentials is 401 with
 * the bare challenge, a wrong token 401 invalid_token, a malformed header 400 (as on every route).
 */
function scrapeGuard(token: string | null): RequestHandler {
  if (token === null) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, _res, next) => {
    const presented = readBearerToken(req);
    if (presented === null) throw bearerError('unauthorized');
    if (!timingSafeEqual(digest(presented), expected)) throw bearerError('invalid_token', 'token invalid');
    next();
  };
}
