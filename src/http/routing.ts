// Declares a route's methods in one place, so every other method gets 405 with an Allow header.
import type { ErrorRequestHandler, RequestHandler, Router } from 'express';
import { AppError } from '../errors';

type Method = 'get' | 'post' | 'patch' | 'delete';

export function defineRoute(router: Router, path: string, methods: Partial<Record<Method, RequestHandler[]>>): void {
  const route = router.route(path);
  const allowed: string[] = [];
  for (const [method, handlers] of Object.entries(methods) as [Method, RequestHandler[]][]) {
    route[method](...handlers);
    allowed.push(method.toUpperCase());
    // Express answers HEAD with the GET handler.
    if (method === 'get') allowed.push('HEAD');
  }
  const allow = allowed.join(', ');
  route.all((req, res) => {
    if (req.method === 'OPTIONS') {
      res.set('Allow', allow).status(204).end();
      return;
    }
    throw new AppError('method_not_allowed', { headers: { Allow: allow } });
  });
}

/**
 * An error handler placed among a route's handlers: Express calls a four-argument function only
 * with the errors of the handlers before it (here: to record a refused sign-in, then pass it on).
 * The typings know one handler type per list, hence the cast.
 */
export function onRouteError(handler: ErrorRequestHandler): RequestHandler {
  return handler as unknown as RequestHandler;
}

/**
 * The prefix a router was mounted under (`req.baseUrl`), fit to be written into a page or a
 * document: '' at the root, or plain path segments only. A prefix with a route parameter
 * (`app.use('/:tenant', ...)`) comes from the request and may hold markup: it is refused (null).
 */
export function mountPrefix(baseUrl: string): string | null {
  if (baseUrl === '') return '';
  return /^(\/[\w.~-]+)+$/.test(baseUrl) ? baseUrl : null;
}
