// Runs several middleware as one: every Express layer costs each request that passes it (see bench/).
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * One middleware that runs `handlers` in order, each when the one before calls next(). An error
 * (thrown, passed to next, or a rejected promise) skips the rest and goes on to `next(error)`, as it
 * would from separate layers. Once the request has been passed on, later calls are ignored and a
 * later throw is not this series' to catch.
 */
export function series(...handlers: RequestHandler[]): RequestHandler {
  return function runSeries(req: Request, res: Response, next: NextFunction): void {
    let index = 0;
    let passedOn = false;
    const step = (error?: unknown): void => {
      if (passedOn) return;
      const handler = error === undefined ? handlers[index] : undefined;
      index += 1;
      if (handler === undefined) {
        passedOn = true;
        next(error);
        return;
      }
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(step);
      } catch (thrown) {
        if (passedOn) throw thrown;
        step(thrown);
      }
    };
    step();
  };
}
