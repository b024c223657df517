// The documented operations of routes/password-routes.ts and routes/email-routes.ts: password change and reset, email verification.
import { acceptedSchema, tokenResponseSchema, userResponseSchema } from '../response-schemas';
import { emailVerifyBody, emptyBody, passwordChangeBody, passwordForgotBody, passwordResetBody } from '../schemas';
import { BAD_AUTHORIZATION, HASHING_BUSY, MAIL_OFF, PER_ADDRESS_LIMIT } from './common-errors';
import { bearerErrors, passwordRecheckErrors, publicErrors } from './route-errors';
import type { OperationSpec } from './types';

const TAG = 'Password and email';

/** A link's token refused: the same 400 whatever the reason, so a guess learns nothing. */
function badLink(kind: 'reset' | 'verification', wrongKind: string) {
  return {
    status: 400,
    when: `the token is unknown, used, expired, or ${wrongKind}`,
    description: `The ${kind} link is invalid, used or expired; ask for a new one.`,
  };
}

export const LIFECYCLE_OPERATIONS: OperationSpec[] = [
  {
    method: 'post',
    path: '/password/change',
    operationId: 'changePassword',
    tag: TAG,
    summary: 'Change the password: every session ends, a new one begins',
    description:
      'Needs the current password; the new one follows the rules of `/register`. Every session of the user ends, the ' +
      "one of this access token included, and the answer is the TokenResponse of a new session. The user's " +
      'outstanding reset links stop working, and a mail tells the owner that the password was changed. A wrong ' +
      'current password counts as a failed login.',
    auth: 'bearer',
    body: { schema: passwordChangeBody, required: true },
    cookieMode: { readsCookie: false, setCookie: "the new session's refresh token is set as the `__Host-refresh_token` cookie and left out of the body." },
    rateLimited: true,
    carriesTokens: true,
    hashesPasswords: true,
    success: { status: 200, description: 'The password is changed; the tokens of the new session.', body: tokenResponseSchema },
    errors: passwordRecheckErrors('the current password is wrong (counted as a failed login)'),
  },
  {
    method: 'post',
    path: '/password/forgot',
    operationId: 'forgotPassword',
    tag: TAG,
    summary: 'Ask for a password reset link by mail',
    description:
      'The answer is the same for every address, registered or not, and comes before the look-up and the mail. An ' +
      'account gets a mail with the link `APP_URL/reset-password?token=…`, valid for `PASSWORD_RESET_TTL` (default ' +
      '1 h); at most one mail per address per `MAIL_COOLDOWN` (default 60 s), later requests within it are still 202.',
    auth: 'none',
    body: { schema: passwordForgotBody, required: true },
    rateLimited: true,
    success: { status: 202, description: 'Accepted; a mail follows if the address has an account.', body: acceptedSchema },
    errors: publicErrors({}, { rateLimited: PER_ADDRESS_LIMIT, notConfigured: MAIL_OFF }),
  },
  {
    method: 'post',
    path: '/password/reset',
    operationId: 'resetPassword',
    tag: TAG,
    summary: 'Set a new password with the token of a reset link',
    description:
      'The token is the `token` parameter of the link in the reset mail; it works once. The new password follows the ' +
      "rules of `/register`. Every session of the user ends, the user's other reset links stop working, the address " +
      'counts as verified (the link proved it), and a mail tells the owner that the password was reset.',
    auth: 'none',
    body: { schema: passwordResetBody, required: true },
    rateLimited: true,
    hashesPasswords: true,
    success: { status: 204, description: 'The password is set; log in with it.' },
    errors: publicErrors(
      { invalid_grant: badLink('reset', 'not a reset token (a verification token)') },
      { rateLimited: PER_ADDRESS_LIMIT, unavailable: HASHING_BUSY, notConfigured: MAIL_OFF },
    ),
  },
  {
    method: 'post',
    path: '/email/verify',
    operationId: 'verifyEmail',
    tag: TAG,
    summary: 'Confirm the email address with the token of a verification link',
    description:
      'The token is the `token` parameter of the link `APP_URL/verify-email?token=…` mailed at registration and by ' +
      '`POST /email/verify/resend`; it works once, within `EMAIL_VERIFICATION_TTL` (default 24 h). No access token is ' +
      'needed: the link may be opened on another device.',
    auth: 'none',
    body: { schema: emailVerifyBody, required: true },
    rateLimited: true,
    success: { status: 200, description: 'The account, now with `email_verified: true`.', body: userResponseSchema },
    errors: publicErrors(
      { invalid_grant: badLink('verification', 'not a verification token (a reset token)') },
      { rateLimited: PER_ADDRESS_LIMIT, notConfigured: MAIL_OFF },
    ),
  },
  {
    method: 'post',
    path: '/email/verify/resend',
    operationId: 'resendVerification',
    tag: TAG,
    summary: 'Mail the verification link again',
    description:
      "Mails a new link to the caller's address, unless the address is verified already or a link went to it within " +
      '`MAIL_COOLDOWN`: the answer is 202 either way. No body (or `{}`).',
    auth: 'bearer',
    body: { schema: emptyBody, required: false },
    success: { status: 202, description: 'Accepted; a mail follows unless the address is verified or one went out just now.', body: acceptedSchema },
    errors: bearerErrors(
      { invalid_request: `${BAD_AUTHORIZATION}; or a body with a field, or one that is not valid JSON` },
      { body: true, notConfigured: MAIL_OFF },
    ),
  },
];
