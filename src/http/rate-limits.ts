// The rate limiters: failed logins per (account, address), and a per-address ceiling on the sign-in routes (/refresh is limited per session, in the rotation).
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import type { Config, RateLimitConfig } from '../config';
import { AppError } from '../errors';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { RateLimitCounter } from '../stores/types';

/** Adapts a store counter to express-rate-limit, under its own key prefix. */
class CounterStore implements Store {
  private windowMs = 60_000;
  constructor(
    private readonly counter: RateLimitCounter,
    readonly prefix: string,
    private readonly logger: Logger,
  ) {}
  init(options: { windowMs: number }): void {
    this.windowMs = options.windowMs;
  }
  increment(key: string) {
    return this.counter.increment(this.prefix + key, this.windowMs);
  }
  /**
   * Runs after the response has gone out (skipSuccessfulRequests), where express-rate-limit would
   * print a rejection's stack to stderr, past our logger: logged here instead (without the key,
   * which holds an email). A decrement lost while the store is away leaves one hit too many,
   * which errs on the strict side.
   */
  decrement(key: string) {
    return this.counter.decrement(this.prefix + key).catch(() => {
      this.logger.warn({ limiter: this.prefix }, 'rate limit: a hit could not be taken back (store unavailable); it stays counted');
    });
  }
  resetKey(key: string) {
    return this.counter.resetKey(this.prefix + key);
  }
}

function clientKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

function limiter(
  name: string,
  limits: RateLimitConfig,
  counter: RateLimitCounter,
  clock: Clock,
  logger: Logger,
  extra: {
    keyGenerator?: (req: Request, res: Response) => string;
    skipSuccessfulRequests?: boolean;
    requestWasSuccessful?: (req: Request, res: Response) => boolean;
  },
): RequestHandler {
  return rateLimit({
    windowMs: limits.windowMs,
    limit: limits.max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    store: new CounterStore(counter, `rl:${name}:`, logger),
    keyGenerator: extra.keyGenerator ?? clientKey,
    skipSuccessfulRequests: extra.skipSuccessfulRequests ?? false,
    ...(extra.requestWasSuccessful ? { requestWasSuccessful: extra.requestWasSuccessful } : {}),
    // Retry-After from the injected clock, so it stays right when tests move time.
    retryAfter: (req) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      return resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - clock.now()) / 1000)) : Math.ceil(limits.windowMs / 1000);
    },
    handler: (_req, _res, next) => next(new AppError('rate_limited')),
    // TRUST_PROXY is checked by the config; these checks would print to stderr past our logger.
    validate: { xForwardedForHeader: false, trustProxy: false },
  });
}

export interface RateLimiters {
  /** Password changes per account (LOGIN_RATE_LIMIT_MAX per LOGIN_RATE_LIMIT_WINDOW); goes after verifyToken. */
  passwordChanges: RequestHandler;
  /** Every request to the sign-in routes (/login, /register) from one address counts here. */
  perAddress: RequestHandler;
  /**
   * Failed logins for one (email, address) pair; goes after body validation on /login, and after
   * accountForLimits on the signed-in routes that check the password again.
   */
  failedLogins: RequestHandler;
}

export function createRateLimiters(config: Config, counter: RateLimitCounter, clock: Clock, logger: Logger): RateLimiters {
  return {
    // Every change counts, right or wrong: someone holding a stolen session could otherwise change
    // the password in a loop, voiding each reset link the owner asks for before it can be used.
    passwordChanges: limiter('password-change', config.rateLimits.login, counter, clock, logger, {
      keyGenerator: (req) => req.auth!.userId,
    }),
    perAddress: limiter('address', config.rateLimits.perAddress, counter, clock, logger, {}),
    failedLogins: limiter('login', config.rateLimits.login, counter, clock, logger, {
      // The account: the signed-in user's address on the routes that ask for the password again
      // (see accountForLimits), else the login body's, validated by now and so normalised.
      keyGenerator: (req, res) => `${String(res.locals.limitEmail ?? (req.body as { email?: unknown }).email)}|${clientKey(req)}`,
      // Only failures count: a correct password does not use up the allowance (a 403 follows a
      // correct one: unverified address), and neither does a 503 (too many logins to hash right
      // now), where the password was never checked.
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode < 400 || res.statusCode === 403 || res.statusCode === 503,
    }),
  };
}

/**
 * Names the signed-in user's account for the failed-login limiter, on the routes that ask for the
 * password again (a change, a deletion): a wrong password there is a wrong password at /login.
 */
export function accountForLimits(findUser: (id: string) => Promise<{ email: string } | null>): RequestHandler {
  return async function nameAccount(req, res, next) {
    const user = await findUser(req.auth!.userId);
    // A user deleted while the token lived gets its 401 from the route; the key just has to be stable.
    res.locals.limitEmail = user?.email ?? `deleted:${req.auth!.userId}`;
    next();
  };
}
