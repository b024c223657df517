// The documented operations of routes/mfa-routes.ts: TOTP enrolment, confirmation and removal, and the second step of a sign-in.
import { recoveryCodesSchema, tokenResponseSchema, totpEnrolmentSchema } from '../response-schemas';
import { emptyBody, loginMfaBody, totpConfirmBody, totpDeleteBody } from '../schemas';
import { BAD_BODY, BAD_BODY_OR_AUTHORIZATION, FAILED_LOGIN_LIMIT, PER_ADDRESS_LIMIT } from './common-errors';
import { bearerErrors, publicErrors } from './route-errors';
import type { OperationSpec } from './types';

const TAG = 'Authentication';
const KEY_MISSING = 'no `MFA_ENCRYPTION_KEY` while factors are kept in a database or Redis (outside production; production refuses to start)';

export const MFA_OPERATIONS: OperationSpec[] = [
  {
    method: 'post',
    path: '/mfa/totp',
    operationId: 'enrolTotp',
    tag: TAG,
    summary: 'Start TOTP enrolment: a new secret, pending until confirmed',
    description:
      'SHA-1, 6 digits, 30 s steps. The secret is stored encrypted (AES-256-GCM under `MFA_ENCRYPTION_KEY`); a new ' +
      'call replaces a pending one. Sign-in is unchanged until `POST /mfa/totp/confirm`.',
    auth: 'bearer',
    body: { schema: emptyBody, required: false },
    success: { status: 200, description: 'The pending secret and its otpauth URI.', body: totpEnrolmentSchema },
    errors: bearerErrors(
      { mfa_already_enabled: 'TOTP is already active: remove it first with `DELETE /mfa/totp`' },
      { body: true, notConfigured: KEY_MISSING },
    ),
  },
  {
    method: 'post',
    path: '/mfa/totp/confirm',
    operationId: 'confirmTotp',
    tag: TAG,
    summary: 'Confirm TOTP enrolment with a code: TOTP is now active',
    description:
      'The answer carries ten recovery codes, shown this once. From now on the right password at `POST /login` is ' +
      '`403 mfa_required`, and the sign-in ends at `POST /login/mfa`. The confirming code cannot be used again.',
    auth: 'bearer',
    body: { schema: totpConfirmBody, required: true },
    success: { status: 200, description: 'TOTP is active; the recovery codes.', body: recoveryCodesSchema },
    errors: bearerErrors(
      {
        invalid_request: `${BAD_BODY}; or no enrolment is pending`,
        invalid_mfa_code: 'the code is not the current one of the pending secret',
        mfa_already_enabled: 'TOTP is already active',
      },
      { body: true, notConfigured: KEY_MISSING },
    ),
  },
  {
    method: 'delete',
    path: '/mfa/totp',
    operationId: 'deleteTotp',
    tag: TAG,
    summary: 'Turn TOTP off, with a TOTP or recovery code',
    description: 'A wrong code counts as a failed login. Afterwards the password alone signs in.',
    auth: 'bearer',
    body: { schema: totpDeleteBody, required: true },
    rateLimited: true,
    success: { status: 204, description: 'TOTP is off; the factor and its recovery codes are gone.' },
    errors: bearerErrors(
      {
        invalid_request: BAD_BODY_OR_AUTHORIZATION,
        invalid_mfa_code: 'the code is wrong or was already used (counted as a failed login)',
        not_found: 'TOTP is not active for this account',
      },
      { body: true, rateLimited: FAILED_LOGIN_LIMIT, notConfigured: KEY_MISSING },
    ),
  },
  {
    method: 'post',
    path: '/login/mfa',
    operationId: 'loginMfa',
    tag: TAG,
    summary: 'Finish a sign-in with a TOTP or recovery code',
    description:
      'Takes the `mfa_token` of the `403 mfa_required` answer to `POST /login` (valid 300 s, for one sign-in) and a ' +
      'code. Each TOTP step and each recovery code works once. A wrong code counts as a failed login of the account; ' +
      'after 5 wrong codes the `mfa_token` is void. The access token carries `amr: ["pwd", "otp"]`.',
    auth: 'none',
    body: { schema: loginMfaBody, required: true },
    cookieMode: { readsCookie: false, setCookie: 'the refresh token is set as the `__Host-refresh_token` cookie and left out of the body.' },
    rateLimited: true,
    carriesTokens: true,
    success: { status: 200, description: 'Logged in.', body: tokenResponseSchema },
    errors: publicErrors(
      {
        invalid_mfa_code: 'the code is wrong, already used, or not of this account',
        invalid_grant: 'the `mfa_token` is invalid, used, expired (300 s), or void after 5 wrong codes: log in again',
        account_disabled: 'the code is right, but an admin disabled the account after its password was checked',
      },
      { rateLimited: `${FAILED_LOGIN_LIMIT}; or ${PER_ADDRESS_LIMIT}`, notConfigured: KEY_MISSING },
    ),
  },
];
