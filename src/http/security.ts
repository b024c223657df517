// Security headers tuned for a JSON API, CORS limited to configured origins, and no caching.
import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** helmet with framing denied outright (an API has nothing to frame) and a locked-down CSP. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    frameguard: { action: 'deny' },
  });
}

/** Only the configured origins may call with credentials; every other origin gets no CORS headers. */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const policy = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Token-Mode', 'X-Request-Id'],
    exposedHeaders: ['WWW-Authenticate', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id'],
    maxAge: 600,
  });
  return (req, res, next) => {
    // cors adds Vary: Origin only to the answers it allows. The refused and origin-less answers
    // differ too, so they need it as well, or a shared cache could serve one in place of another.
    if (allowed.size > 0) res.vary('Origin');
    policy(req, res, next);
  };
}

/** API responses carry credentials or personal data: no cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  // Pragma for HTTP/1.0 caches, as RFC 6749 §5.1 asks of token responses.
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  next();
};
