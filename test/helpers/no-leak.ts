// Asserts that a response body reveals nothing internal: no stack frames, file paths or library names.
import type { Response } from 'supertest';

export const INTERNALS: [string, RegExp][] = [
  ['a stack frame', /\bat\s+(?:async\s+)?[\w$.<>[\] ]*\(?[^\s()]*:\d+:\d+\)?/],
  ['a stack frame', /(?:\n|\\n)\s+at\s/],
  ['a file path', /(?:\/[\w.-]+){2,}\.(?:ts|js|cjs|mjs)\b/],
  ['a file path', /node_modules|\/work\/|\bsrc\//],
  ['an error class', /\b(?:SyntaxError|TypeError|RangeError|ReferenceError|ZodError|AppError|HttpError)\b/],
  ['a parser message', /Unexpected (?:token|end of JSON)|JSON\.parse|in JSON at position|" is not valid JSON/],
  ['a library name', /\b(?:zod|express|body-parser|raw-body|jsonwebtoken|bcrypt|pino|helmet)\b/i],
  ['a stack property', /"stack"/],
];

/** Fails when the raw body text shows anything a client must never see. */
export function expectNoInternals(res: Pick<Response, 'text'> | { text: string }): void {
  const text = res.text ?? '';
  const found = INTERNALS.filter(([, pattern]) => pattern.test(text)).map(([what]) => what);
  expect({ body: text, leaks: found }).toEqual({ body: text, leaks: [] });
}

/** Only the contract's error fields may appear in an error body. */
export function expectOnlyErrorFields(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) expect(['error', 'error_description', 'details']).toContain(key);
}
