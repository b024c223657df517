// The error explanations several routes share, so each is worded once.
import { BODY_LIMIT } from '../json-body';

export const BAD_BODY =
  'the body fails validation (`details` names each field), is not valid JSON, or is not a JSON object';

export const BAD_AUTHORIZATION =
  'the `Authorization` header breaks RFC 6750 (`Bearer` alone, two tokens, two headers) or a token is in the query string';

/** The 400 of a protected route that takes a body: the body, or the `Authorization` header. */
export const BAD_BODY_OR_AUTHORIZATION = `${BAD_BODY}; or ${BAD_AUTHORIZATION}`;

/** The 400 of a protected route that takes no body: the header, or a body sent anyway that is not JSON. */
export const BAD_AUTHORIZATION_OR_JSON = `${BAD_AUTHORIZATION}, or a body that is not valid JSON`;

export const BODY_ERRORS = {
  payload_too_large: `the body is over ${BODY_LIMIT.replace('kb', ' kB')}`,
  unsupported_media_type: 'a body that is not `application/json` (or is compressed, or not UTF-8)',
} as const;

/** A protected route's answers to a missing, malformed or unusable access token. */
export const BEARER_ERRORS = {
  invalid_request: BAD_AUTHORIZATION,
  unauthorized: 'no credentials at all, or another scheme than Bearer',
  invalid_token:
    'the access token is expired (`token expired`: refresh) or revoked or invalid (`token revoked`, `token invalid`: log in again)',
} as const;

/** Any route that touches a store: Redis unreachable is a 503, anything else unexpected a 500. */
export const STORE_ERRORS = {
  server_error: 'something unexpected failed; the body says nothing more, the log says everything',
  unavailable: 'a backing store (Redis) is unreachable; retry later',
} as const;

/** The per-address ceiling on the routes that take a password or redeem or send a mail link. */
export const PER_ADDRESS_LIMIT =
  'too many requests from this address to `/login`, `/login/mfa`, `/register`, `/password/forgot`, `/password/reset` and ' +
  '`/email/verify` together (`RATE_LIMIT_MAX` in `RATE_LIMIT_WINDOW`)';

/** Failed logins per (account, client address): a wrong password wherever one is asked for counts. */
export const FAILED_LOGIN_LIMIT =
  'too many failed logins for this account from this address (`LOGIN_RATE_LIMIT_MAX` in `LOGIN_RATE_LIMIT_WINDOW`); ' +
  'a wrong password at `/login`, `/password/change` and `DELETE /profile`, and a wrong code at `/login/mfa` and `DELETE /mfa/totp`, all count';

/** A 503 of a route that hashes or compares a password: a store, or the hashing queue. */
export const HASHING_BUSY =
  'a backing store (Redis) is unreachable, or more requests are waiting for password hashing than ' +
  '`PASSWORD_HASH_QUEUE` allows, or than this client address may hold of it (`PASSWORD_HASH_QUEUE_PER_ADDRESS`) ' +
  '(with `Retry-After`); retry later';

/** The mail routes where mail goes nowhere. */
export const MAIL_OFF = 'mail is not configured: `NODE_ENV=production` without `SMTP_URL`';
