// The request bodies of the contract as zod schemas: unknown fields are refused, emails normalised.
import { z } from 'zod';
import { MAX_PASSWORD_BYTES, passwordProblem } from '../auth/passwords';

/** A string field whose absence reads "is required" and wrong type "must be a string". */
function requiredString() {
  return z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });
}

const email = requiredString()
  .trim()
  .toLowerCase()
  .max(254, { error: 'must be at most 254 characters' })
  .pipe(z.email({ error: 'must be a valid email address' }));

/** A new password: 8–72 bytes of UTF-8, since bcrypt reads no further. */
const newPassword = requiredString().superRefine((value, ctx) => {
  const problem = passwordProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A password to check: any that registration could have accepted. */
const givenPassword = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_PASSWORD_BYTES, {
    error: `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`,
  })
  .refine((value) => !value.includes('\u0000'), { error: 'must not contain a NUL character' });

const refreshToken = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(4096, { error: 'is too long' });

export const registerBody = z.strictObject({ email, password: newPassword });

export const loginBody = z.strictObject({ email, password: givenPassword });

export const refreshBody = z.strictObject({ refresh_token: refreshToken.optional() });

export const logoutBody = z.strictObject({
  refresh_token: refreshToken.optional(),
  scope: z.enum(['local', 'others', 'global'], { error: 'must be local, others or global' }).default('local'),
});
