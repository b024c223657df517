// Runs several middleware as one: every Express layer costs each request that passes it (see bench/).
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * One middleware that runs `handlers` in order, each when the one before calls next(). An error
 * (thrown, passed to next, or a rejected promise) skips the rest and goes on to `next(error)`, as it
 * would from separate layers; so do `next('route')` and `next('router')`. Each handler's next()
 * counts once; a throw after it was called is not this series' to catch.
 */
export function series(...handlers: RequestHandler[]): RequestHandler {
  return function runSeries(req: Request, res: Response, next: NextFunction): void {
    const run = (index: number): void => {
      const handler = handlers[index];
      if (handler === undefined) {
        next();
        return;
      }
      let called = false;
      const step = (error?: unknown): void => {
        if (called) return;
        called = true;
        // As Express reads next(): a falsy value is no error.
        if (error) next(error);
        else run(index + 1);
      };
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(step);
      } catch (thrown) {
        if (called) throw thrown;
        step(thrown);
      }
    };
    run(0);
  };
}
