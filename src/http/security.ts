// Security headers tuned for a JSON API, CORS limited to configured origins, and no caching.
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** helmet with framing denied outright (an API has nothing to frame) and a locked-down CSP. */
function apiHelmet(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    frameguard: { action: 'deny' },
  });
}

/**
 * The headers helmet sets, learnt once by running it against a response that only records them.
 * With this configuration every one is the same on every response, so each request then sets the
 * same list in one loop instead of passing through helmet's dozen middleware (measured in bench/).
 * helmet stays the one definition of the policy: change apiHelmet() and the list follows.
 */
function recordedHeaders(middleware: RequestHandler): [string, string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void headers.push([name, value]),
    removeHeader: () => undefined,
  };
  let passed = false;
  middleware({} as Request, recorder as unknown as Response, (error?: unknown) => {
    if (error) throw error;
    passed = true;
  });
  if (!passed || headers.some(([, value]) => typeof value !== 'string')) {
    throw new Error('helmet did not set fixed headers synchronously: its configuration needs the per-request middleware');
  }
  return headers;
}

export function securityHeaders(): RequestHandler {
  const headers = recordedHeaders(apiHelmet());
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    // Express already leaves X-Powered-By out (app.disable('x-powered-by')), which helmet would remove.
    next();
  };
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
    // With no Origin, or one not listed, cors adds nothing and calls next(): skip it (most requests).
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) {
      next();
      return;
    }
    policy(req, res, next);
  };
}

/** API responses carry credentials or personal data: no cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  // Pragma for HTTP/1.0 caches, as RFC 6749 §5.1 asks of token responses.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  next();
};
