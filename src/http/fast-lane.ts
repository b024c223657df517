// The most called routes, answered ahead of Express's router with the very handlers their routes run.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { noSuchRoute } from './error-handler';

/** Express's own dispatch of a request into an app: what `app(req, res, next)` calls. */
type Dispatch = (req: IncomingMessage, res: ServerResponse, callback?: NextFunction) => void;

/** A route of the fast lane: a method, the exact path, and everything its request passes in the app. */
export interface FastRoute {
  method: 'GET' | 'POST';
  /** Compared with the request URL as sent: no query string, no other spelling. */
  path: string;
  /** The app's own middleware (the body parser included) and the route's handlers, in order: the same functions, not copies. */
  handlers: RequestHandler;
}

/**
 * Express spends about a quarter of a protected GET deciding where it goes: a final handler made
 * per request, then every layer and router on the way matched in turn (measured in bench/). A
 * request with the method and exact path of one of `routes` skips that walk: it gets Express's
 * request and response (what `app.handle` sets up), then runs `handlers`; an error goes to
 * `onError`, the app's one error handler, as from the router. Every other request, including
 * other spellings of the path (case, trailing slash, query string), HEAD and OPTIONS, takes the
 * router as before, which reaches the same handlers.
 */
export function openFastLane(app: Express, routes: readonly FastRoute[], onError: ErrorRequestHandler): void {
  // Each lane's `req.route`, made once: what the router sets for a route, as far as anything reads it (the path pattern).
  const lanes = new Map(routes.map((route) => [`${route.method} ${route.path}`, { handlers: route.handlers, route: { path: route.path } }]));
  const target = app as unknown as { handle: Dispatch; request: object; response: object };
  const throughRouter = target.handle.bind(app);
  target.handle = function handle(req, res, callback) {
    const lane = lanes.get(`${req.method} ${req.url}`);
    if (lane === undefined) {
      throughRouter(req, res, callback);
      return;
    }
    const request = req as Request;
    const response = res as Response;
    request.res = response;
    response.req = request;
    Object.setPrototypeOf(req, target.request);
    Object.setPrototypeOf(res, target.response);
    response.locals ??= Object.create(null);
    // What the router would have set on the way: an exact path has no mount point and no params,
    // and is its own route pattern (the request metrics label the answer with it).
    request.originalUrl = req.url!;
    request.baseUrl = '';
    request.params = {};
    request.route = lane.route;
    let passedOn = false;
    const next: NextFunction = (error?: unknown) => {
      if (passedOn) return;
      passedOn = true;
      // The handlers of a route answer or fail; one that passes the request on has no route after it.
      const failure = error || noSuchRoute();
      try {
        onError(failure, request, response, callback ?? (() => undefined));
      } catch {
        // The error handler itself failed: no answer is left to give, and no stack to show.
        response.destroy();
      }
    };
    try {
      lane.handlers(request, response, next);
    } catch (error) {
      next(error);
    }
  };
}
