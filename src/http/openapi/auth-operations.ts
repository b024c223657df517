// The documented operations of routes/auth-routes.ts: register, login, refresh, logout.
import { loginBody, logoutBody, refreshBody, registerBody } from '../schemas';
import { tokenResponseSchema, userResponseSchema } from '../response-schemas';
import { BAD_AUTHORIZATION, BAD_BODY, BEARER_ERRORS, FAILED_LOGIN_LIMIT, HASHING_BUSY, PER_ADDRESS_LIMIT } from './common-errors';
import { publicErrors } from './route-errors';
import type { OperationSpec } from './types';

const PER_SESSION_LIMIT =
  'this session has refreshed `REFRESH_RATE_LIMIT_MAX` times in its window (`REFRESH_RATE_LIMIT_WINDOW`); other sessions, ' +
  'even from the same address, are not affected';

export const AUTH_OPERATIONS: OperationSpec[] = [
  {
    method: 'post',
    path: '/register',
    operationId: 'register',
    tag: 'Authentication',
    summary: 'Create an account',
    description:
      'Registers a user with the role `user` (admins come from `npm run create-admin`, `USERS_FILE` or `POST /admin/users`). ' +
      'It does not log in. A password that is ' +
      'one of the most common is refused with `400 invalid_request` and its own `error_description`. After the answer, ' +
      'a verification link is mailed to the address (see `POST /email/verify`).',
    auth: 'none',
    body: { schema: registerBody, required: true },
    rateLimited: true,
    hashesPasswords: true,
    success: { status: 201, description: 'The new account, with `email_verified: false`.', body: userResponseSchema },
    errors: publicErrors(
      {
        not_found: 'registration is closed on this server (`ALLOW_REGISTRATION=false`)',
        email_taken: 'the email is already registered',
      },
      { rateLimited: PER_ADDRESS_LIMIT, unavailable: HASHING_BUSY },
    ),
  },
  {
    method: 'post',
    path: '/login',
    operationId: 'login',
    tag: 'Authentication',
    summary: 'Log in: a new session and its tokens',
    description:
      'An unknown email and a wrong password get the same answer. Failed logins are limited per (account, ' +
      'client address): `LOGIN_RATE_LIMIT_MAX` in `LOGIN_RATE_LIMIT_WINDOW`, then 429 even for the right password. ' +
      'The right password of an account an admin disabled is `403 account_disabled`. With ' +
      '`REQUIRE_EMAIL_VERIFICATION=true`, the right password of an unverified account is `403 email_not_verified`. ' +
      'With TOTP active, the right password is `403 mfa_required` with `mfa_token` and `expires_in` (300) added to ' +
      'the body and no session yet: finish at `POST /login/mfa`. Access tokens carry `amr` (RFC 8176): `["pwd"]` here.',
    auth: 'none',
    body: { schema: loginBody, required: true },
    cookieMode: { readsCookie: false, setCookie: 'the refresh token is set as the `__Host-refresh_token` cookie and left out of the body.' },
    rateLimited: true,
    carriesTokens: true,
    hashesPasswords: true,
    success: { status: 200, description: 'Logged in.', body: tokenResponseSchema },
    errors: publicErrors(
      {
        invalid_credentials: 'unknown email or wrong password (one identical answer for both)',
        email_not_verified: 'the password is right, but `REQUIRE_EMAIL_VERIFICATION=true` and the address is not verified yet',
        account_disabled: 'the password is right, but an admin disabled the account',
        mfa_required: 'the password is right and TOTP is active: the body adds `mfa_token` and `expires_in`; send a code to `POST /login/mfa`',
      },
      { rateLimited: `${FAILED_LOGIN_LIMIT}; or ${PER_ADDRESS_LIMIT}`, unavailable: HASHING_BUSY },
    ),
  },
  {
    method: 'post',
    path: '/refresh',
    operationId: 'refresh',
    tag: 'Authentication',
    summary: 'Exchange a refresh token for a new pair (rotation)',
    description:
      'Every refresh returns a new refresh token and the old one stops working. Presenting an old one again ends ' +
      'the whole session, except within `REFRESH_REUSE_GRACE` (default 10 s) of its rotation, where the same ' +
      'successor and a fresh access token are returned (two tabs refreshing at once). The session never outlives ' +
      'its first login plus `REFRESH_TOKEN_TTL`, nor one idle for `SESSION_IDLE_TIMEOUT` when that is set. Limited ' +
      'per session, never per address: `RateLimit` and `RateLimit-Policy` (policy `"session"`) tell what is left.',
    auth: 'none',
    body: { schema: refreshBody, required: false },
    cookieMode: {
      readsCookie: true,
      setCookie: 'the token may come from the `__Host-refresh_token` cookie, and the new one is set there instead of the body.',
    },
    rateLimited: true,
    carriesTokens: true,
    success: { status: 200, description: 'A rotated pair.', body: tokenResponseSchema },
    errors: publicErrors(
      {
        invalid_grant:
          'no refresh token, or one that is invalid, expired, revoked or reused (reuse ends the session), or a session idle too long; ' +
          'in cookie mode, two refresh cookies',
      },
      { rateLimited: PER_SESSION_LIMIT },
    ),
  },
  {
    method: 'post',
    path: '/logout',
    operationId: 'logout',
    tag: 'Authentication',
    summary: 'End this session, the other ones, or all',
    description:
      'Needs a refresh token (body, or cookie in cookie mode) and/or a Bearer access token. Ending a session revokes ' +
      'its refresh token and every access token it issued. Idempotent: a token of an ended session still gets 204.',
    auth: 'bearer-or-refresh',
    body: { schema: logoutBody, required: false },
    cookieMode: { readsCookie: true, setCookie: 'the `__Host-refresh_token` cookie is cleared (`Max-Age=0`).' },
    success: { status: 204, description: 'Logged out (or already logged out).' },
    // Not bearerErrors: either credential will do, so a missing access token alone is no error.
    errors: publicErrors({
      invalid_request: `${BAD_BODY}; ${BAD_AUTHORIZATION}; or the two tokens belong to different sessions`,
      unauthorized: 'neither a refresh token nor an access token',
      invalid_token: BEARER_ERRORS.invalid_token,
      invalid_grant: 'the refresh token is not one of this server (forged, malformed); in cookie mode, two refresh cookies',
    }),
  },
];
