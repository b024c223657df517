// The package's root export: createAuth({ env }) assembles the whole server (config, stores, app) for code that embeds it; server.ts is built on it.
import { readFileSync } from 'node:fs';
import type { ErrorRequestHandler, RequestHandler, Router } from 'express';
import { createApp, type AuthApp } from './app';
import { parseUsersFile, provisionUsers } from './auth/provision-users';
import { loadConfig, type Config, type Role } from './config';
import { authErrorHandler } from './http/auth-error-handler';
import { requireAmr as requireAmrOf, requireRole as requireRoleOf } from './http/verify-token';
import { systemClock, type Clock } from './lib/clock';
import { createLogger, type Logger } from './lib/logger';
import { openStores } from './stores/open-stores';

export { ConfigError } from './config';
export type { AuthContext } from './http/verify-token';
export type { AccessClaims } from './auth/access-claims';
export type { AuthApp } from './app';
export type { Config, Role } from './config';
export type { Logger } from './lib/logger';

/** Expired sessions, used one-time tokens and old counters are swept this often. */
const SWEEP_INTERVAL_MS = 60_000;

export interface CreateAuthOptions {
  /**
   * The configuration, by the same names and with the same defaults as the server's environment
   * (README, "Configuration"): `{ JWT_SECRET, DATABASE_URL, ... }`. Defaults to `process.env`. No
   * `.env` file is read: call `dotenv.config()` first for that.
   */
  env?: Record<string, string | undefined>;
  /** Where the server logs; by default a pino logger at LOG_LEVEL on stdout. */
  logger?: Logger;
  /** The time source; tests of the embedding app may pass a fake one. */
  clock?: Clock;
}

export interface Auth {
  /** A complete Express app with every route at the root: `app.listen(port)`, or `request(app)` in supertest. */
  app: AuthApp;
  /**
   * Every route, the docs page and OpenAPI included, to mount under a prefix of an existing
   * Express 5 app: `host.use('/auth', auth.router)`. An unknown path under the prefix is this API's
   * JSON 404. The host's settings apply to it (`trust proxy` for client addresses; TRUST_PROXY only
   * sets the app above).
   */
  router: Router;
  /**
   * Guards a route of the embedding app: a valid, unrevoked access token sets `req.auth` (the
   * verified claims); otherwise it answers 401 with the RFC 6750 challenge itself.
   */
  verifyToken: RequestHandler;
  /** After verifyToken: answers 403 `insufficient_scope` unless `req.auth.role` is one of `roles`. */
  requireRole: (...roles: Role[]) => RequestHandler;
  /** After verifyToken, for step-up: answers 403 `insufficient_scope` unless the token's `amr` names every method (`requireAmr('otp')`). */
  requireAmr: (...methods: string[]) => RequestHandler;
  /** The configuration in force (frozen; it holds the secrets: never log it). */
  config: Config;
  logger: Logger;
  /** Stops the sweeper, waits for background work and queued mail, and closes the stores. Stop serving first. */
  close: () => Promise<void>;
}

/**
 * Checks the configuration (throws ConfigError naming every problem), opens the stores (and
 * migrates a database), provisions USERS_FILE, and builds the app. Resolves when it is ready to serve.
 */
export async function createAuth(options: CreateAuthOptions = {}): Promise<Auth> {
  const { config, warnings } = loadConfig(options.env ?? process.env);
  const logger = options.logger ?? createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const clock = options.clock ?? systemClock;

  const stores = await openStores(config, { clock, logger });
  let app: AuthApp;
  try {
    app = createApp(config, stores, { logger, clock });
    if (config.usersFile) {
      const users = parseUsersFile(readFileSync(config.usersFile, 'utf8'), config.bcryptCost);
      const added = await provisionUsers(app.services.accounts, users);
      logger.info({ added, listed: users.length }, 'users provisioned from USERS_FILE');
    }
  } catch (error) {
    await stores.close();
    throw error;
  }

  const sweeper = setInterval(() => void stores.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      // Mail the last requests asked for still goes out (or is given up on, within its bound).
      await app.services.background.idle();
      await app.services.mailer.close();
      await stores.close();
    })();
    return closing;
  };

  return {
    app,
    router: app.authRouter,
    verifyToken: answeringRefusals(app.verifyToken),
    requireRole: (...roles) => answeringRefusals(requireRoleOf(...roles)),
    requireAmr: (...methods) => answeringRefusals(requireAmrOf(...methods)),
    config,
    logger,
    close,
  };
}

const renderRefusal: ErrorRequestHandler = authErrorHandler();

/**
 * The embedding app's routes have no error handler of ours behind them: a middleware of ours that
 * refuses a request answers it here (status, challenge, JSON body), and anything else goes on to the host.
 */
function answeringRefusals(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const passOn = (error?: unknown) => (error ? renderRefusal(error, req, res, next) : next());
    try {
      // verifyToken refuses through next(error), requireRole by throwing.
      middleware(req, res, passOn);
    } catch (error) {
      passOn(error);
    }
  };
}
