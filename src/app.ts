// createApp: wires config, stores, clock and logger into an Express app. It never listens.
import express, { Router, type Express, type RequestHandler } from 'express';
import { AccountDeletionService } from './auth/account-deletion';
import { AccountMail } from './auth/account-mail';
import { AccountService } from './auth/accounts';
import { EmailVerificationService } from './auth/email-verification';
import { OneTimeTokens } from './auth/one-time-tokens';
import { PasswordService } from './auth/password-service';
import { HashGate } from './auth/hash-gate';
import { MfaService } from './auth/mfa-service';
import { AdminService } from './auth/admin-service';
import { AuditTrail } from './auth/audit-trail';
import { SecretBox } from './auth/secret-box';
import { PasswordHasher } from './auth/passwords';
import { SessionService } from './auth/session-service';
import { TokenService } from './auth/tokens';
import type { Config } from './config';
import { createErrorHandler, notFound } from './http/error-handler';
import { openFastLane } from './http/fast-lane';
import { jsonBody } from './http/json-body';
import { createMetrics, type AppMetrics } from './http/metrics';
import { createRateLimiters } from './http/rate-limits';
import { requestLogger } from './http/request-logger';
import { accountRoutes, profileHandlers } from './http/routes/account-routes';
import { adminRoutes } from './http/routes/admin-routes';
import { authRoutes, refreshHandlers, signInShedding } from './http/routes/auth-routes';
import { demoRoutes } from './http/routes/demo-routes';
import { discoveryRoutes } from './http/routes/discovery-routes';
import { docsRoutes } from './http/routes/docs-routes';
import { emailRoutes } from './http/routes/email-routes';
import { mfaRoutes } from './http/routes/mfa-routes';
import { passwordRoutes } from './http/routes/password-routes';
import { healthRoutes } from './http/routes/health-routes';
import { metricsRoutes } from './http/routes/metrics-routes';
import { verifierRoutes } from './http/routes/verifier-routes';
import { corsPolicy, noStore, securityHeaders } from './http/security';
import { series } from './http/series';
import { createVerifyToken } from './http/verify-token';
import { systemClock, type Clock } from './lib/clock';
import { BackgroundTasks } from './lib/background';
import type { Logger } from './lib/logger';
import { createMailer } from './mail/outbox';
import type { Mailer } from './mail/types';
import type { Stores } from './stores/types';

export interface AppOptions {
  logger: Logger;
  clock?: Clock;
  /** The mailer; by default one built from the config (SMTP, the development log, or off). */
  mailer?: Mailer;
}

/** The services behind the routes, exposed for provisioning and for tests. */
export interface AppServices {
  accounts: AccountService;
  sessions: SessionService;
  tokens: TokenService;
  /** What routes started after their answers (a reset request's look-up and mail); wait for `idle()` before closing the mailer. */
  background: BackgroundTasks;
  /** The outbox every mail goes through; `close()` it after the server stops. */
  mailer: Mailer;
  /** The second factor: enrolment, removal, the sign-in challenge. */
  mfa: MfaService;
  /** The slots every bcrypt hash and comparison waits for (PASSWORD_HASH_CONCURRENCY, PASSWORD_HASH_QUEUE). */
  hashGate: HashGate;
  /** The Prometheus registry and request timer; null when GET /metrics is off (production without METRICS_TOKEN). */
  metrics: AppMetrics | null;
}

export type AuthApp = Express & {
  services: AppServices;
  /** Every route of the app, without the app: what createAuth gives to mount under a prefix. */
  authRouter: Router;
  /** The app's own token check (revocation included), for routes of the app that embeds it. */
  verifyToken: RequestHandler;
};

export function createApp(config: Config, stores: Stores, options: AppOptions): AuthApp {
  const { logger, clock = systemClock } = options;
  const mailer = options.mailer ?? createMailer({ config: config.mail, production: config.nodeEnv === 'production', logger });
  const hashGate = new HashGate(config.passwordHashing);
  const hasher = new PasswordHasher(config.bcryptCost, hashGate, config.passwordHashing.nice);
  const tokens = new TokenService(config.jwt, clock);
  const accounts = new AccountService(stores.users, hasher, clock);
  const oneTimeTokens = new OneTimeTokens(stores.oneTimeTokens, clock);
  // What routes do after their answer (look-ups, mails): shutdown and tests wait for it.
  const background = new BackgroundTasks(logger);
  const audit = new AuditTrail(stores.audit, background, clock);
  const mail = new AccountMail({ mailer, tokens: oneTimeTokens, counters: stores.rateLimits, users: stores.users, config: config.mail, logger });
  const mfa = new MfaService({
    factors: stores.mfa,
    oneTimeTokens: stores.oneTimeTokens,
    counters: stores.rateLimits,
    tokens,
    box: config.mfa.encryptionKey === null ? null : new SecretBox(config.mfa.encryptionKey),
    issuer: config.jwt.issuer,
    clock,
    logger,
  });
  const sessions = new SessionService({
    users: stores.users,
    sessions: stores.sessions,
    tokens,
    hasher,
    clock,
    logger,
    jwt: config.jwt,
    limits: config.sessions,
    requireEmailVerification: config.requireEmailVerification,
    secondFactor: mfa,
    onReuse: (session, replayedFrom) => {
      background.run('session-ended notice', () => mail.notifySessionEnded(session, clock.now()));
      // The address and User-Agent of the replay, when known: the likely thief, not the owner.
      audit.record('refresh.reuse_detected', session.userId, { ip: replayedFrom?.ip ?? '', userAgent: replayedFrom?.userAgent ?? '', actorId: null }, { session_id: session.id });
    },
  });
  const passwords = new PasswordService({
    users: stores.users,
    sessionStore: stores.sessions,
    sessions,
    hasher,
    tokens: oneTimeTokens,
    mail,
    clock,
    logger,
  });
  const verification = new EmailVerificationService({ users: stores.users, tokens: oneTimeTokens, mail, logger });
  const deletion = new AccountDeletionService({ ...stores, hasher, logger });
  const admin = new AdminService({ users: stores.users, counters: stores.rateLimits, sessionStore: stores.sessions, sessions, deletion, mfa, mail, hasher, clock, logger });
  const verifyToken = createVerifyToken({ tokens, sessions: stores.revocations ?? stores.sessions });
  const limiters = createRateLimiters(config, stores.rateLimits, clock, logger);

  const metrics = config.metrics.enabled ? createMetrics({ hashGate }) : null;
  // What every request passes first: its timer (when metrics are on), its id and log line, security headers, CORS, no caching.
  const edge = [...(metrics ? [metrics.timer] : []), requestLogger(logger), securityHeaders(), corsPolicy(config.corsOrigins), noStore];
  const body = jsonBody();
  const profile = profileHandlers({ accounts, verifyToken, mfa });
  const refresh = refreshHandlers({ sessions, clock });
  // The metrics tell a sign-in's or refresh's outcome by the error it was answered with.
  const errorHandler = metrics ? metrics.noteErrors(createErrorHandler(logger)) : createErrorHandler(logger);

  // Every route, in a router of its own so that another app can mount it under a prefix (createAuth's `router`).
  const router = Router();
  router.use(series(...edge));
  router.use(verifierRoutes({ tokens, sessions: stores.revocations ?? stores.sessions, config }));
  router.use(discoveryRoutes({ config }));
  const shedding = signInShedding(hashGate, config.allowRegistration);
  router.post(shedding.paths, shedding.handler);
  router.use(body);

  // Protected routes first: each router a request passes costs it a few microseconds (see bench/).
  router.use(accountRoutes({ accounts, sessions, verifyToken, profile, deletion, limiters, mfa, audit }));
  router.use(
    authRoutes({ accounts, sessions, tokens, limiters, clock, allowRegistration: config.allowRegistration, refresh, verification, background, audit }),
  );
  router.use(passwordRoutes({ accounts, passwords, sessions, mail, limiters, verifyToken, clock, background, audit }));
  router.use(emailRoutes({ verification, mail, limiters, verifyToken, mfa, audit }));
  router.use(mfaRoutes({ accounts, mfa, sessions, limiters, verifyToken, clock, audit }));
  router.use(adminRoutes({ admin, mfa, verifyToken, audit, auditLog: stores.audit }));
  router.use(healthRoutes(() => stores.ping(), logger));
  if (metrics) router.use(metricsRoutes(metrics, config.metrics.token));
  router.use(demoRoutes());
  router.use(docsRoutes());

  // Under a prefix of another app, a path of the prefix that is no route here is this API's 404, not the host's.
  router.use(notFound);
  router.use(errorHandler);

  const app = express() as AuthApp;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.use(router);

  // GET /profile, the protected route clients call most, and POST /refresh, which every client
  // calls once per access token lifetime, skip the router walk above: the edge, the body parser
  // and their handlers are the same functions (the verifier routes, which they pass on the way,
  // answer other paths only, and so does the sign-in shedding). Middleware for every request
  // added above accountRoutes must be added here too, or these two routes skip it.
  openFastLane(
    app,
    [
      { method: 'GET', path: '/profile', handlers: series(...edge, ...body, ...profile) },
      { method: 'POST', path: '/refresh', handlers: series(...edge, ...body, ...refresh) },
    ],
    errorHandler,
  );

  app.services = { accounts, sessions, tokens, background, mailer, hashGate, mfa, metrics };
  app.authRouter = router;
  app.verifyToken = verifyToken;
  return app;
}
