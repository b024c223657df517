// The request bodies of the contract as zod schemas: unknown fields are refused, emails normalised.
// The OpenAPI document is generated from these same schemas (see openapi/), so the two cannot drift.
import { z } from 'zod';
import { givenPasswordProblem, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, passwordProblem } from '../auth/passwords';
import { normalizeEmail } from '../lib/email-address';
import { AUDIT_EVENT_TYPES } from '../stores/audit-events';

/** A string field whose absence reads "is required" and wrong type "must be a string". */
function requiredString() {
  return z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });
}

/**
 * An email address in its normal form (see normalizeEmail): every email field of every route, so
 * that one address is one account however it is written. Internationalised addresses are taken.
 */
export const emailField = requiredString()
  .max(254, { error: 'must be at most 254 characters' })
  .refine((value) => normalizeEmail(value) !== null, { error: 'must be a valid email address' })
  .overwrite((value) => normalizeEmail(value) ?? value)
  .meta({
    description:
      'Trimmed, NFC-normalised and lower-cased before use; internationalised addresses (RFC 6531) are taken, ' +
      'the domain compared in its ASCII form and answered in its Unicode form.',
    format: 'email',
    example: 'ann@example.com',
  });

/**
 * A new password: 8 to 128 characters (Unicode code points), none NUL, not one of the most common
 * passwords. Beyond bcrypt's 72 bytes it is pre-hashed, never cut (see bcryptInput).
 */
export const newPasswordField = requiredString()
  .superRefine((value, ctx) => {
    const problem = passwordProblem(value);
    if (!problem) return;
    // A guessable password gets an error_description of its own: the one problem a client cannot see coming.
    const params = problem.guessable ? { description: 'The password is too easy to guess; choose another.' } : undefined;
    ctx.addIssue({ code: 'custom', message: problem.message, params });
  })
  .meta({
    description:
      `${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters (Unicode code points), any Unicode but NUL; ` +
      'not one of the most common passwords (a list shipped with the server, the 10,000 most common and more), in any letter case.',
    minLength: MIN_PASSWORD_CHARS,
    maxLength: MAX_PASSWORD_CHARS,
    example: 'correct horse battery staple',
  });

/** A password to check: any that registration could have accepted, and any it once did. */
const givenPassword = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .superRefine((value, ctx) => {
    const problem = givenPasswordProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
  })
  .meta({ maxLength: MAX_PASSWORD_CHARS, example: 'correct horse battery staple' });

const refreshToken = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(4096, { error: 'is too long' })
  .meta({ description: 'The refresh token of a TokenResponse.' });

export const registerBody = z.strictObject({ email: emailField, password: newPasswordField }).meta({ id: 'RegisterRequest' });

export const loginBody = z.strictObject({ email: emailField, password: givenPassword }).meta({ id: 'LoginRequest' });

export const refreshBody = z.strictObject({ refresh_token: refreshToken.optional() }).meta({
  id: 'RefreshRequest',
  description: 'In cookie mode the body may be empty: the token comes from the `__Host-refresh_token` cookie.',
});

export const logoutBody = z
  .strictObject({
    refresh_token: refreshToken.optional(),
    scope: z
      .enum(['local', 'others', 'global'], { error: 'must be local, others or global' })
      .default('local')
      .meta({ description: '`local` ends this session, `others` every other session of the user, `global` all of them.' }),
  })
  .meta({ id: 'LogoutRequest' });

/** The token of a reset or verification link: 43 base64url characters as this server makes them. */
const oneTimeToken = requiredString()
  .min(1, { error: 'must not be empty' })
  .max(512, { error: 'is too long' })
  .meta({ description: 'The `token` parameter of the link in the mail.', example: 'q8Jx0bQe3c2mT9rZ1yK4vW7nL5pA6sD8fG0hJ2kL4mN' });

export const passwordChangeBody = z
  .strictObject({ current_password: givenPassword, new_password: newPasswordField })
  .meta({ id: 'PasswordChangeRequest' });

export const passwordForgotBody = z.strictObject({ email: emailField }).meta({ id: 'PasswordForgotRequest' });

export const passwordResetBody = z
  .strictObject({ token: oneTimeToken, new_password: newPasswordField })
  .meta({ id: 'PasswordResetRequest' });

export const emailVerifyBody = z.strictObject({ token: oneTimeToken }).meta({ id: 'EmailVerifyRequest' });

/** POST /email/verify/resend takes no fields; an empty object or no body at all. */
export const emptyBody = z.strictObject({}).meta({ id: 'EmptyRequest' });

export const deleteProfileBody = z
  .strictObject({ password: givenPassword })
  .meta({ id: 'DeleteProfileRequest', description: 'The current password, asked again before the account goes.' });

/** A TOTP code (6 digits) or a recovery code ("ABCDE-FGHJK"; case, spaces and the dash do not matter). */
const mfaCode = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(32, { error: 'is too long' })
  .refine((code) => /^\d{6}$/.test(code) || /^[A-Za-z2-7]{10}$/.test(code.replace(/[\s-]/g, '')), { error: 'must be a 6-digit code or a recovery code' })
  .meta({ description: 'The 6-digit code of the authenticator app, or one of the recovery codes.', example: '123456' });

export const totpConfirmBody = z
  .strictObject({ code: mfaCode.meta({ description: 'The 6-digit code the authenticator app shows for the new secret.' }) })
  .meta({ id: 'TotpConfirmRequest' });

export const totpDeleteBody = z.strictObject({ code: mfaCode }).meta({ id: 'TotpDeleteRequest' });

export const loginMfaBody = z
  .strictObject({
    mfa_token: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(4096, { error: 'is too long' })
      .meta({ description: 'The `mfa_token` of the 403 mfa_required answer to POST /login.' }),
    code: mfaCode,
  })
  .meta({ id: 'LoginMfaRequest' });

const roleField = z.enum(['user', 'admin'], { error: 'must be user or admin' });

export const adminCreateUserBody = z
  .strictObject({
    email: emailField,
    password: newPasswordField.optional().meta({ description: 'Absent: the user gets a reset mail as an invitation and chooses one.' }),
    role: roleField.default('user'),
    email_verified: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .meta({ id: 'AdminCreateUserRequest' });

export const adminUpdateUserBody = z
  .strictObject({
    role: roleField.optional(),
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
    email_verified: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .meta({ id: 'AdminUpdateUserRequest', description: 'Only the fields given change; disabling ends every session of the user.' });

/** A query parameter given once: Express turns `?a=1&a=2` into an array, which is refused. */
function queryText(max: number) {
  return z.string({ error: 'must be given once, as text' }).max(max, { error: `must be at most ${max} characters` });
}

export const adminUserListQuery = z
  .strictObject({
    limit: queryText(3)
      .regex(/^\d+$/, { error: 'must be a whole number from 1 to 200' })
      .transform(Number)
      .refine((n) => n >= 1 && n <= 200, { error: 'must be a whole number from 1 to 200' })
      .optional(),
    cursor: queryText(512).optional(),
    email: queryText(254).optional(),
  })
  .meta({ id: 'AdminUserListQuery' });

/** An ISO 8601 time in a query, as milliseconds. */
function queryTime() {
  return queryText(40)
    .refine((text) => /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(text) && Number.isFinite(Date.parse(text)), {
      // With its zone: a time without one would be read in the server's zone, whatever the caller meant.
      error: 'must be an ISO 8601 time with its zone, such as 2026-01-15T09:30:00Z',
    })
    .transform((text) => Date.parse(text));
}

export const auditQuery = z
  .strictObject({
    limit: adminUserListQuery.shape.limit,
    cursor: queryText(512).optional(),
    user_id: queryText(64).optional(),
    type: z.enum(AUDIT_EVENT_TYPES, { error: 'must be one of the audit event types' }).optional(),
    since: queryTime().optional(),
    until: queryTime().optional(),
  })
  .meta({ id: 'AuditQuery' });
