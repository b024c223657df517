// The request bodies of the contract as zod schemas: unknown fields are refused, emails normalised.
// The OpenAPI document is generated from these same schemas (see openapi/), so the two cannot drift.
import { z } from 'zod';
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES, passwordProblem } from '../auth/passwords';

/** A string field whose absence reads "is required" and wrong type "must be a string". */
function requiredString() {
  return z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });
}

const email = requiredString()
  .trim()
  .toLowerCase()
  .max(254, { error: 'must be at most 254 characters' })
  .pipe(z.email({ error: 'must be a valid email address' }))
  .meta({ description: 'Trimmed and lower-cased before use.', format: 'email', example: 'ann@example.com' });

/** A new password: 8–72 bytes of UTF-8, since bcrypt reads no further. */
const newPassword = requiredString()
  .superRefine((value, ctx) => {
    const problem = passwordProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description: `${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt reads no further; nothing is truncated), no NUL.`,
    maxLength: MAX_PASSWORD_BYTES,
    example: 'correct horse battery staple',
  });

/** A password to check: any that registration could have accepted. */
const givenPassword = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_PASSWORD_BYTES, {
    error: `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`,
  })
  .refine((value) => !value.includes('\u0000'), { error: 'must not contain a NUL character' })
  .meta({ maxLength: MAX_PASSWORD_BYTES, example: 'correct horse battery staple' });

const refreshToken = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(4096, { error: 'is too long' })
  .meta({ description: 'The refresh token of a TokenResponse.' });

export const registerBody = z.strictObject({ email, password: newPassword }).meta({ id: 'RegisterRequest' });

export const loginBody = z.strictObject({ email, password: givenPassword }).meta({ id: 'LoginRequest' });

export const refreshBody = z.strictObject({ refresh_token: refreshToken.optional() }).meta({
  id: 'RefreshRequest',
  description: 'In cookie mode the body may be empty: the token comes from the `refresh_token` cookie.',
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
