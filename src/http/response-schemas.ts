// The response bodies of the contract as zod schemas: the OpenAPI document is generated from them, tests check real responses with them.
import { z } from 'zod';
import { ERROR_TABLE, type ErrorCode } from '../errors';
import { AUDIT_EVENT_TYPES } from '../stores/audit-events';

/** Every error code of the contract, in the order of the error table. */
export const ERROR_CODES = Object.keys(ERROR_TABLE) as [ErrorCode, ...ErrorCode[]];

const ID_EXAMPLE = 'm3Jq2xV0bq1cJdW8n6TtPA';
const TIME_EXAMPLE = '2026-01-15T09:30:00.000Z';

function isoTime(description: string) {
  return z.iso.datetime().meta({ description: `${description} (ISO 8601, UTC).`, example: TIME_EXAMPLE });
}

function seconds(description: string, example: number) {
  return z.int().nonnegative().meta({ description, example });
}

// Strict objects: a field the contract does not name (a password hash, say) fails validation.
export const userSchema = z
  .strictObject({
    id: z.string().min(1).meta({ description: 'Stable, unguessable user id.', example: ID_EXAMPLE }),
    email: z.email().meta({ description: 'Normalised: trimmed and lower-cased.', example: 'ann@example.com' }),
    role: z.enum(['user', 'admin']),
    created_at: isoTime('When the account was registered'),
    email_verified: z.boolean().meta({ description: 'Whether the owner followed the link of a verification (or reset) mail.' }),
    mfa_enabled: z.boolean().meta({ description: 'Whether two-step sign-in (TOTP) is on: the right password then answers 403 mfa_required.' }),
  })
  .meta({ id: 'User', description: 'An account as clients see it. Never a password or a hash.' });

export const sessionSchema = z
  .strictObject({
    id: z.string().min(1).meta({ description: 'The `sid` claim of every token of this session.', example: ID_EXAMPLE }),
    created_at: isoTime('The login that opened the session'),
    last_used_at: isoTime('The last login or refresh of the session'),
    expires_at: isoTime('Absolute end of the session: rotation never moves it'),
    user_agent: z.string().meta({ description: 'User-Agent of the login (at most 256 characters).', example: 'curl/8.5.0' }),
    ip: z.string().meta({ description: 'Client address of the login.', example: '203.0.113.7' }),
    current: z.boolean().meta({ description: 'Whether the access token of this request belongs to the session.' }),
  })
  .meta({ id: 'Session', description: 'A live login session of the caller.' });

export const tokenResponseSchema = z
  .strictObject({
    access_token: z.string().min(1).meta({ description: 'JWT (HS256, `typ: at+jwt`); send it as `Authorization: Bearer`.' }),
    token_type: z.literal('Bearer'),
    expires_in: seconds('Seconds until the access token expires.', 900),
    expires_at: seconds('The access token `exp`: Unix seconds.', 1768469400),
    refresh_token: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'JWT (`typ: rt+jwt`) for `POST /refresh`; single use. Absent in cookie mode.' }),
    refresh_expires_in: seconds('Seconds until the session ends (absolute, from the first login).', 604800),
    user: userSchema,
  })
  .meta({ id: 'TokenResponse', description: 'The tokens of a login or a refresh, and who they stand for.' });

export const fieldProblemSchema = z
  .strictObject({
    path: z.string().meta({ description: 'The field, dotted for nested fields.', example: 'email' }),
    message: z.string().meta({ example: 'must be a valid email address' }),
  })
  .meta({ id: 'FieldProblem', description: 'One problem with one field of the request body.' });

export const errorSchema = z
  .strictObject({
    error: z.enum(ERROR_CODES).meta({ description: 'Stable machine-readable code (RFC 6749 §5.2 style).' }),
    error_description: z.string().meta({ description: 'One sentence for humans.', example: 'token expired' }),
    details: z
      .array(fieldProblemSchema)
      .min(1)
      .optional()
      .meta({ description: 'Only on a `400` from body validation: every problem found.' }),
    mfa_token: z
      .string()
      .optional()
      .meta({ description: 'Only on `403 mfa_required`: the token of this sign-in, for `POST /login/mfa`.' }),
    expires_in: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Only on `403 mfa_required`: seconds the `mfa_token` lasts (300).', example: 300 }),
  })
  .meta({ id: 'Error', description: 'Every error has this shape; never a stack trace or internal detail.' });

export const adminUserSchema = userSchema
  .extend({
    disabled: z.boolean().meta({ description: 'A disabled account cannot sign in (403 account_disabled) and has no sessions.' }),
    last_login_at: isoTime('The last login that opened a session').nullable(),
  })
  .meta({ id: 'AdminUser', description: 'A User as admins see it.' });
export const adminUserResponseSchema = z.strictObject({ user: adminUserSchema }).meta({ id: 'AdminUserResponse' });
export const adminUserPageSchema = z
  .strictObject({
    users: z.array(adminUserSchema),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'AdminUserPage', description: 'Users, oldest first.' });
export const auditEventSchema = z
  .strictObject({
    id: z.string().meta({ description: 'Sortable: newer events have greater ids.', example: '01KBX3Q9Z8M2N4P6R8T0V2W4Y6' }),
    at: isoTime('When it happened'),
    type: z.enum(AUDIT_EVENT_TYPES),
    user_id: z.string().nullable().meta({ description: 'The account it happened to; null for a failed login naming no account.' }),
    actor_id: z.string().nullable().meta({ description: 'Who did it: the admin for admin actions, else the user.' }),
    ip: z.string().meta({ example: '203.0.113.7' }),
    user_agent: z.string().meta({ example: 'curl/8.5.0' }),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).meta({
      description: 'What an operator needs (changed fields, a reason, a session id); never a password, token, hash or code.',
    }),
  })
  .meta({ id: 'AuditEvent' });
export const auditPageSchema = z
  .strictObject({
    events: z.array(auditEventSchema),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'AuditPage', description: 'Audit events, newest first.' });
export const userResponseSchema = z.strictObject({ user: userSchema }).meta({ id: 'UserResponse' });
export const userListSchema = z.strictObject({ users: z.array(userSchema) }).meta({ id: 'UserList' });
export const sessionListSchema = z
  .strictObject({ sessions: z.array(sessionSchema) })
  .meta({ id: 'SessionList', description: "The caller's live sessions, oldest first." });
export const acceptedSchema = z
  .strictObject({ status: z.literal('accepted') })
  .meta({ id: 'Accepted', description: 'The request was taken; any mail goes out after the answer.' });
export const totpEnrolmentSchema = z
  .strictObject({
    secret: z.string().regex(/^[A-Z2-7]+$/).meta({ description: 'The TOTP secret in base32, to type into an authenticator app.' }),
    otpauth_uri: z.string().meta({ description: 'The `otpauth://totp/…` URI an authenticator app scans (as a QR code).' }),
  })
  .meta({ id: 'TotpEnrolment', description: 'A pending TOTP factor: it guards nothing until POST /mfa/totp/confirm.' });
export const recoveryCodesSchema = z
  .strictObject({
    recovery_codes: z
      .array(z.string().regex(/^[A-Z2-7]{5}-[A-Z2-7]{5}$/))
      .length(10)
      .meta({ description: 'Ten single-use codes that stand in for a TOTP code; shown this once, stored only as hashes.' }),
  })
  .meta({ id: 'RecoveryCodes' });
export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });
export const readySchema = z.strictObject({ status: z.literal('ready') }).meta({ id: 'Ready' });

export const jwkSchema = z
  .strictObject({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: z.string().min(1),
    y: z.string().min(1),
    kid: z.string().min(1).meta({ description: 'The `kid` in the header of the tokens this key verifies.' }),
    alg: z.literal('ES256'),
    use: z.literal('sig'),
  })
  .meta({ id: 'Jwk', description: 'An ES256 public key (RFC 7517).' });

export const jwkSetSchema = z
  .strictObject({ keys: z.array(jwkSchema) })
  .meta({ id: 'JwkSet', description: 'Empty with HS256 (shared secrets are never published).' });

const inactive = z.strictObject({ active: z.literal(false) });
const active = z.strictObject({
  active: z.literal(true),
  token_type: z.literal('Bearer'),
  iss: z.string(),
  aud: z.string(),
  sub: z.string().meta({ description: 'The user id.' }),
  sid: z.string().meta({ description: 'The session id.' }),
  jti: z.string(),
  role: z.enum(['user', 'admin']),
  iat: z.int().nonnegative(),
  exp: z.int().nonnegative(),
});

export const introspectionSchema = z.union([active, inactive]).meta({
  id: 'IntrospectionResponse',
  description:
    'RFC 7662 §2.2: the claims of a live access token, or only `{"active": false}` for any other token ' +
    '(invalid, expired, revoked, or not an access token).',
});

export type UserJson = z.infer<typeof userSchema>;
export type AdminUserJson = z.infer<typeof adminUserSchema>;
export type AuditEventJson = z.infer<typeof auditEventSchema>;
export type SessionJson = z.infer<typeof sessionSchema>;
export type TokenResponseJson = z.infer<typeof tokenResponseSchema>;
export type ErrorJson = z.infer<typeof errorSchema>;
