// Lists a route's documented errors in the one order every route keeps: the caller check, the route's own, the body, the limiter, the stores.
import {
  BAD_BODY,
  BAD_BODY_OR_AUTHORIZATION,
  BEARER_ERRORS,
  BODY_ERRORS,
  FAILED_LOGIN_LIMIT,
  HASHING_BUSY,
  STORE_ERRORS,
} from './common-errors';
import type { OperationSpec } from './types';

export type RouteErrorList = OperationSpec['errors'];

/** What follows a route's own errors; only what the route has. */
export interface ErrorTail {
  /** The JSON body parser runs (even with no body schema): 413 and 415. */
  body?: boolean;
  /** The 429, with the limiter it comes from. */
  rateLimited?: string;
  /** A 503 that says more than a store outage (the password-hashing queue). */
  unavailable?: string;
  /** The 501 of a feature the server may lack (mail, the factor key). */
  notConfigured?: string;
}

/**
 * `caller`'s errors, then `own`, then the tail's, then the stores'. An `own` entry for a code the
 * caller check has already (`invalid_request`) rewords it in place: codes of one status are
 * described in the order they are listed, so the order is part of the document.
 */
export function routeErrors(caller: RouteErrorList, own: RouteErrorList, tail: ErrorTail = {}): RouteErrorList {
  const { body = false, rateLimited, unavailable, notConfigured } = tail;
  return {
    ...caller,
    ...own,
    ...(body ? BODY_ERRORS : {}),
    ...(rateLimited ? { rate_limited: rateLimited } : {}),
    ...STORE_ERRORS,
    ...(unavailable ? { unavailable } : {}),
    ...(notConfigured ? { not_configured: notConfigured } : {}),
  };
}

/** A route behind the Bearer check: a missing, malformed or unusable access token first. */
export function bearerErrors(own: RouteErrorList = {}, tail?: ErrorTail): RouteErrorList {
  return routeErrors(BEARER_ERRORS, own, tail);
}

/**
 * A signed-in route that asks for the password again (`DELETE /profile`, `/password/change`): a
 * wrong one, described by `wrongPassword`, counts as a failed login, and the check waits for a hashing slot.
 */
export function passwordRecheckErrors(wrongPassword: string): RouteErrorList {
  return bearerErrors(
    { invalid_request: BAD_BODY_OR_AUTHORIZATION, invalid_credentials: wrongPassword },
    { body: true, rateLimited: FAILED_LOGIN_LIMIT, unavailable: HASHING_BUSY },
  );
}

/** A route anyone may call with a JSON body: a body that fails validation first. */
export function publicErrors(own: RouteErrorList, tail: Omit<ErrorTail, 'body'> = {}): RouteErrorList {
  return routeErrors({ invalid_request: BAD_BODY }, own, { ...tail, body: true });
}
