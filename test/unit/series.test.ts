// series(): several middleware in one layer, with the order and error handling of separate layers.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { series } from '../../src/http/series';

const req = {} as Request;
const res = {} as Response;

/** Runs the series and resolves with what it passed to its next(), once the handlers are done. */
function run(handler: RequestHandler): Promise<{ calls: unknown[][] }> {
  return new Promise((resolve) => {
    const calls: unknown[][] = [];
    const next = ((...args: unknown[]) => {
      calls.push(args);
      // A second call, if any, would arrive in the same or a later tick: wait a little for it.
      setTimeout(() => resolve({ calls }), 10);
    }) as NextFunction;
    handler(req, res, next);
  });
}

describe('series', () => {
  it('runs the handlers in order, then passes the request on once, without an error', async () => {
    const order: string[] = [];
    const step = (name: string): RequestHandler => (_req, _res, next) => {
      order.push(name);
      next();
    };
    const { calls } = await run(series(step('a'), step('b'), step('c')));
    expect(order).toEqual(['a', 'b', 'c']);
    expect(calls).toEqual([[]]);
  });

  it.each<[string, RequestHandler]>([
    ['passed to next()', (_req, _res, next) => next(new Error('boom'))],
    ['thrown', () => {
      throw new Error('boom');
    }],
    ['a rejected promise', async () => {
      throw new Error('boom');
    }],
  ])('skips the rest on an error %s and passes the error on', async (_how, failing) => {
    const after = jest.fn();
    const { calls } = await run(series((_req, _res, next) => next(), failing, after));
    expect(after).not.toHaveBeenCalled();
    expect(calls).toEqual([[new Error('boom')]]);
  });

  it('runs the next handler once when a handler in the middle calls next() twice', async () => {
    const after = jest.fn((_req: Request, _res: Response, next: NextFunction) => next());
    const { calls } = await run(
      series((_req, _res, next) => {
        next();
        next();
      }, after),
    );
    expect(after).toHaveBeenCalledTimes(1);
    expect(calls).toEqual([[]]);
  });

  it('reads a falsy next() argument as no error, as Express does', async () => {
    const after = jest.fn((_req: Request, _res: Response, next: NextFunction) => next());
    const { calls } = await run(series((_req, _res, next) => next(null), after));
    expect(after).toHaveBeenCalledTimes(1);
    expect(calls).toEqual([[]]);
  });

  it("passes next('route') on at once, skipping the rest", async () => {
    const after = jest.fn();
    const { calls } = await run(series((_req, _res, next) => next('route'), after));
    expect(after).not.toHaveBeenCalled();
    expect(calls).toEqual([['route']]);
  });

  it('does not catch what is thrown after the request has been passed on', () => {
    const handler = series((_req, _res, next) => next());
    expect(() =>
      handler(req, res, () => {
        throw new Error('thrown downstream');
      }),
    ).toThrow('thrown downstream');
  });
});
