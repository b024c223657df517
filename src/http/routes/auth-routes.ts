// POST /register, /login, /refresh and /logout: the token lifecycle over HTTP.
import { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { AccountService } from '../../auth/accounts';
import type { EmailVerificationService } from '../../auth/email-verification';
import type { HashGate } from '../../auth/hash-gate';
import type { SessionService } from '../../auth/session-service';
import type { AccessTokenVerifier } from '../../auth/tokens';
import { AppError, ERROR_TABLE } from '../../errors';
import type { AuditTrail } from '../../auth/audit-trail';
import type { AuditEventType } from '../../stores/types';
import type { BackgroundTasks } from '../../lib/background';
import type { Clock } from '../../lib/clock';
import { rateLimitHeaders } from '../../lib/rate-limit-headers';
import { bearerError, readBearerToken } from '../bearer';
import { clearRefreshCookie, readRefreshCookie, wantsCookieMode } from '../cookie-mode';
import { whenUndelivered } from '../delivery';
import { userJson } from '../presenters';
import type { RateLimiters } from '../rate-limits';
import { defineRoute, onRouteError } from '../routing';
import { sendJson } from '../send-json';
import { sendTokens } from '../send-tokens';
import { auditContext } from '../audit-context';
import { clientInfo } from '../client-info';
import { loginBody, logoutBody, refreshBody, registerBody } from '../schemas';
import { parseBody, validBody } from '../validate';
import { checkAccessToken } from '../verify-token';

export interface AuthRoutesDeps {
  accounts: AccountService;
  sessions: SessionService;
  tokens: AccessTokenVerifier;
  limiters: RateLimiters;
  clock: Clock;
  allowRegistration: boolean;
  /** Mails the verification link to a new account. */
  verification: EmailVerificationService;
  background: BackgroundTasks;
  audit: AuditTrail;
  /** POST /refresh's handlers, from refreshHandlers(): the app's fast lane runs them too. */
  refresh: RequestHandler[];
}

/** The refresh token from the body, or from the cookie when cookie mode was asked for. */
function presentedRefreshToken(req: Request, fromBody: string | undefined): string | undefined {
  // Read even when the body has a token: two refresh cookies refuse the request either way.
  const fromCookie = wantsCookieMode(req) ? readRefreshCookie(req) : undefined;
  return fromBody ?? fromCookie;
}

/**
 * POST /refresh: a new token pair for the refresh token in the body (or the cookie). Limited per
 * session inside the rotation, not per address: users behind one address never share a budget.
 */
export function refreshHandlers({ sessions, clock }: Pick<AuthRoutesDeps, 'sessions' | 'clock'>): RequestHandler[] {
  return [
    async function rotateRefreshToken(req, res) {
      const body = parseBody(refreshBody, req.body);
      const token = presentedRefreshToken(req, body.refresh_token);
      if (!token) throw new AppError('invalid_grant', { description: 'A refresh token is required.' });
      const grant = await sessions.refresh(token, clientInfo(req));
      res.set(rateLimitHeaders(grant.refreshAllowance));
      sendTokens(req, res, grant, clock);
    },
  ];
}

/**
 * POST /login and /register, refused while the hashing queue has no room for their client address
 * (its share used up, or the queue full) before anything is done for them (the body read, the
 * request counted, the user looked up): the very 503 the queue would give, at a fraction of the
 * cost, so that a flood of sign-ins takes as little as it can from every other request (measured
 * in bench/). The app mounts it ahead of the body parser, with `app.post(paths, handler)`: a
 * Router of its own would answer OPTIONS itself.
 */
export function signInShedding(hashGate: HashGate, allowRegistration: boolean): { paths: string[]; handler: RequestHandler } {
  return {
    // A closed registration answers 404, however busy hashing is.
    paths: allowRegistration ? ['/login', '/register'] : ['/login'],
    handler: (req, _res, next) => {
      // The address the login or registration will queue under: the same req.ip (TRUST_PROXY applied).
      hashGate.refuseIfFull(req.ip ?? '');
      next();
    },
  };
}

/** The audit type of a sign-in refused with this error code; others (a 400, a 503) are not sign-in attempts worth recording. */
const FAILED_LOGIN_TYPES: Partial<Record<string, AuditEventType>> = {
  invalid_credentials: 'login.failed',
  account_disabled: 'login.failed',
  email_not_verified: 'login.failed',
  rate_limited: 'login.rate_limited',
};

/**
 * Records a refused sign-in, then passes the error on. The account is looked up after the answer,
 * by the address the body named: an unknown address is recorded without one (never the address
 * itself, which may be a password typed into the wrong field).
 */
function auditFailedLogin({ accounts, audit, background, clock }: Pick<AuthRoutesDeps, 'accounts' | 'audit' | 'background' | 'clock'>): ErrorRequestHandler {
  return (error, req, _res, next) => {
    const type = error instanceof AppError ? FAILED_LOGIN_TYPES[error.code] : undefined;
    const email = (req.body as { email?: unknown } | undefined)?.email;
    if (type && typeof email === 'string') {
      const context = auditContext(req, null);
      const reason = (error as AppError).code;
      const at = clock.now();
      background.run('audit lookup', async () => {
        const user = await accounts.findByEmail(email);
        audit.record(type, user?.id ?? null, { ...context, actorId: user?.id ?? null }, { reason }, at);
      });
    }
    next(error);
  };
}

export function authRoutes(deps: AuthRoutesDeps): Router {
  const { accounts, sessions, tokens, limiters, clock } = deps;
  const router = Router();

  defineRoute(router, '/register', {
    post: [
      limiters.perAddress,
      async (req, res) => {
        if (!deps.allowRegistration) {
          throw new AppError('not_found', { description: 'Registration is closed on this server.' });
        }
        const { email, password } = parseBody(registerBody, req.body);
        const user = await accounts.register(email, password, 'user', req.ip ?? '');
        // A new account has no factor yet.
        res.status(201).json({ user: userJson(user, false) });
        // After the answer: a mail server never slows a registration down.
        deps.background.run('verification mail', () => deps.verification.welcome(user));
        deps.audit.record('user.registered', user.id, auditContext(req, user.id));
      },
    ],
  });

  defineRoute(router, '/login', {
    post: [
      limiters.perAddress,
      validBody(loginBody),
      limiters.failedLogins,
      async (req, res, next) => {
        const { email, password } = req.body as { email: string; password: string };
        const grant = await sessions.login(email, password, clientInfo(req));
        if ('mfaToken' in grant) {
          // The right password, a factor still due: no session yet. The failed-login limiter
          // counts this 403 as a right password (see rate-limits.ts).
          const { description } = ERROR_TABLE.mfa_required;
          sendJson(res, 403, { error: 'mfa_required', error_description: description, mfa_token: grant.mfaToken, expires_in: grant.expiresIn });
          return;
        }
        // A client that hung up while its password was checked never gets these tokens: a session
        // left open for them would be one nobody holds, so it ends.
        const endSession = async () => sessions.end(grant.user.id, grant.sessionId);
        whenUndelivered(res, endSession, next);
        sendTokens(req, res, grant, clock);
        deps.audit.record('login.succeeded', grant.user.id, auditContext(req, grant.user.id), { amr: 'pwd' });
      },
      onRouteError(auditFailedLogin(deps)),
    ],
  });

  defineRoute(router, '/refresh', { post: deps.refresh });

  defineRoute(router, '/logout', {
    post: [
      async (req, res) => {
        const body = parseBody(logoutBody, req.body);
        const refreshToken = presentedRefreshToken(req, body.refresh_token);
        const bearer = readBearerToken(req);
        if (!refreshToken && bearer === null) throw bearerError('unauthorized');
        // The session may have ended already: logout checks the token, not its session.
        const access = bearer === null ? undefined : checkAccessToken(tokens, bearer);
        const ended = await sessions.logout({ refreshToken, access, scope: body.scope, client: clientInfo(req) });
        if (ended) deps.audit.record('logout', ended.userId, auditContext(req, ended.userId), { session_id: ended.id, scope: body.scope });
        if (wantsCookieMode(req)) clearRefreshCookie(res);
        res.status(204).end();
      },
    ],
  });

  return router;
}
