// The Prometheus metrics of one app: its own registry, the request timer of the edge, sign-in and refresh outcomes, the hashing queue.
import { performance } from 'node:perf_hooks';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HashGate } from '../auth/hash-gate';
import type { AppError } from '../errors';
import { toAppError } from './error-handler';

/** The route label of an answer no route took: an unknown path, a CORS preflight, a body refused before routing. */
export const UNMATCHED = 'unmatched';

/**
 * Seconds. From well under a millisecond (GET /profile) to the seconds a sign-in may wait for the
 * hashing queue: a bcrypt comparison alone is tens to hundreds of milliseconds.
 */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The outcomes created at zero, so that rates and alerts see the series before the first one happens. */
const LOGIN_OUTCOMES = ['success', 'mfa_required', 'invalid_credentials', 'invalid_mfa_code', 'rate_limited', 'email_not_verified', 'account_disabled', 'unavailable'];
const REFRESH_OUTCOMES = ['rotated', 'reused', 'invalid', 'rate_limited'];

/**
 * How the answer to a replayed refresh token differs from the other `invalid_grant`s: only in its
 * description (session-service.ts). test/integration/metrics.test.ts replays a token, so a change
 * of that sentence fails a test instead of silently counting replays as `invalid`.
 */
const REUSED = /already used/;

// Kept on the response: its start (for the timer) and the error it was answered with (for the outcomes).
const STARTED = Symbol('metrics.started');
const FAILURE = Symbol('metrics.failure');

type Observed = Response & { [STARTED]?: number; [FAILURE]?: AppError };

/** The metrics of one app; created by createApp when GET /metrics is on (see MetricsConfig). */
export interface AppMetrics {
  /** This app's registry: never prom-client's global one, since one process may build many apps (tests do). */
  readonly registry: Registry;
  /** Edge middleware: times the request and counts its outcome when its answer has been sent. */
  readonly timer: RequestHandler;
  /** Wraps the app's error handler, so that an answer's outcome can be told from its error code. */
  noteErrors(handler: ErrorRequestHandler): ErrorRequestHandler;
  /** The scrape: every series in the Prometheus text format (see `registry.contentType`). */
  scrape(): Promise<string>;
}

export function createMetrics(deps: { hashGate: HashGate }): AppMetrics {
  const registry = new Registry();
  const durations = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request reaching the app to its answer sent, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const logins = new Counter({
    name: 'auth_logins_total',
    help: 'Answers of POST /login and POST /login/mfa, by outcome: success, mfa_required, or the error code.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'auth_refreshes_total',
    help: 'Answers of POST /refresh, by outcome: rotated, reused (a replay ended its session), invalid, or the error code.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const { hashGate } = deps;
  // Read at scrape time: nothing on the hashing path itself changes for the metrics.
  new Gauge({
    name: 'auth_password_hash_queue',
    help: 'Password hashing jobs (bcrypt) waiting for a slot.',
    registers: [registry],
    collect() {
      this.set(hashGate.queued);
    },
  });
  new Gauge({
    name: 'auth_password_hash_active',
    help: 'Password hashing jobs (bcrypt) running.',
    registers: [registry],
    collect() {
      this.set(hashGate.active);
    },
  });
  new Gauge({
    name: 'auth_password_hash_queue_limit',
    help: 'Jobs the hashing queue holds before sign-ins are refused with 503 (PASSWORD_HASH_QUEUE).',
    registers: [registry],
  }).set(hashGate.limits.queue);

  const observe = durationCells(durations);
  const countLogin = counterCells(logins, LOGIN_OUTCOMES);
  const countRefresh = counterCells(refreshes, REFRESH_OUTCOMES);

  // One function for every response of the app (`this` is the response): no closure per request.
  function onFinish(this: Observed): void {
    const seconds = (performance.now() - this[STARTED]!) / 1000;
    const req = this.req;
    const method = req.method;
    const route = routeOf(req);
    const status = this.statusCode;
    observe(route, method, status)(seconds);
    if (method !== 'POST') return;
    if (route === '/refresh') countRefresh(refreshOutcome(status, this[FAILURE]));
    else if (route === '/login' || route === '/login/mfa') countLogin(loginOutcome(status, this[FAILURE]));
  }

  let processMetrics = false;
  return {
    registry,
    timer: function timeRequest(_req: Request, res: Response, next: NextFunction): void {
      (res as Observed)[STARTED] = performance.now();
      // 'finish': the answer was handed to the socket. A client that hung up first got no answer to time or count.
      res.on('finish', onFinish);
      next();
    },
    noteErrors(handler) {
      return function noteError(error, req, res, next) {
        (res as Observed)[FAILURE] = toAppError(error);
        return handler(error, req, res, next);
      };
    },
    async scrape() {
      // The process metrics start a GC observer and an event-loop monitor that nothing can stop:
      // started on the first scrape only, so an app nobody scrapes (most test apps) starts neither.
      if (!processMetrics) {
        collectDefaultMetrics({ register: registry });
        processMetrics = true;
      }
      return registry.metrics();
    },
  };
}

/**
 * The route pattern that answered (`/sessions/:id`), never the path as sent: a label that took
 * every path anyone sends would grow without bound. The router leaves `req.route` set when the
 * answer leaves its route, and the fast lane sets it to its lane's path (an exact path is its
 * own pattern). Routers are mounted at the root, so the route's path is the whole pattern.
 */
function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route === undefined) return UNMATCHED;
  const path = route.path;
  if (typeof path === 'string') return path;
  // A route declared for several paths (the sign-in shedding): the one of them this request took.
  if (Array.isArray(path)) return memberOf(path, req.path);
  return UNMATCHED;
}

/** Express matches paths case-insensitively and with or without a trailing slash. */
function memberOf(patterns: unknown[], pathname: string): string {
  const wanted = pathname.toLowerCase().replace(/(.)\/+$/, '$1');
  const found = patterns.find((pattern) => typeof pattern === 'string' && pattern.toLowerCase() === wanted);
  return typeof found === 'string' ? found : UNMATCHED;
}

/** Sign-ins are told apart by the answer alone: no service code knows about metrics. */
function loginOutcome(status: number, failure: AppError | undefined): string {
  if (status < 400) return 'success';
  if (failure !== undefined) return failure.code;
  // The one failure not thrown: /login's request for the second factor is an answer of its own.
  if (status === 403) return 'mfa_required';
  return 'other';
}

/**
 * A refresh answered 200 is a rotation. One inside the grace window (the successor returned
 * again) answers the same and counts as `rotated` too: only the session store can tell them apart.
 */
function refreshOutcome(status: number, failure: AppError | undefined): string {
  if (status < 400) return 'rotated';
  if (failure === undefined) return 'other';
  if (failure.code === 'invalid_grant') return REUSED.test(failure.description) ? 'reused' : 'invalid';
  return failure.code;
}

/**
 * The histogram's child for each (route, method, status), made on first use and kept: prom-client
 * would otherwise build and hash the label set on every observation. Each key is bounded: route
 * patterns and `unmatched`, the methods Node's parser knows, three-digit statuses.
 */
function durationCells(histogram: Histogram<'method' | 'route' | 'status'>) {
  const byRoute = new Map<string, Map<string, Map<number, (seconds: number) => void>>>();
  return (route: string, method: string, status: number): ((seconds: number) => void) => {
    let byMethod = byRoute.get(route);
    if (byMethod === undefined) byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = histogram.labels({ method, route, status: String(status) }).observe;
      byStatus.set(status, cell);
    }
    return cell;
  };
}

/** Increments the counter's child for an outcome; `initial` outcomes exist at zero from the start. */
function counterCells(counter: Counter<'outcome'>, initial: readonly string[]): (outcome: string) => void {
  const cells = new Map<string, (value?: number) => void>();
  const cell = (outcome: string) => {
    let inc = cells.get(outcome);
    if (inc === undefined) {
      inc = counter.labels({ outcome }).inc;
      cells.set(outcome, inc);
    }
    return inc;
  };
  for (const outcome of initial) cell(outcome)(0);
  return (outcome) => cell(outcome)();
}
