// The response headers the contract promises, each with the shape of its value (checked by the conformance tests).
import { z } from 'zod';

export interface HeaderSpec {
  description: string;
  /** The raw header value as sent on the wire. */
  schema: z.ZodType<string>;
}

/** A quoted limiter name with its numbers, one entry per limiter on the route (RateLimit draft 8). */
const RATE_LIMIT_ITEM = /"[a-z]+(-[a-z]+)*"; [a-z]+=\d+(; [a-z]+=(\d+|:[A-Za-z0-9+/=]+:))*/.source;

export const HEADERS = {
  'X-Request-Id': {
    description: 'Id of this request in the server log: a safe incoming `X-Request-Id` is echoed, otherwise a new one.',
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  },
  'Cache-Control': {
    description: '`no-store` on everything personal or carrying a token; the public key set and the discovery documents may be cached (`public, max-age=300`).',
    schema: z.string().regex(/^(no-store|public, max-age=\d+)$/),
  },
  'WWW-Authenticate': {
    description:
      'RFC 6750 challenge, e.g. `Bearer realm="auth", error="invalid_token", error_description="token expired"`; ' +
      'with no credentials at all only the realm. `token expired`: refresh; `token revoked` or `token invalid`: log in again. ' +
      '`POST /introspect` challenges `Basic realm="auth"`.',
    schema: z.string().regex(/^(Bearer realm="auth"(, error="[a-z_]+", error_description="[^"\\]*")?|Basic realm="auth")$/),
  },
  'Retry-After': {
    description: 'Seconds until the limit resets; on a 503 of `/login` or `/register`, until a password-hashing slot is likely free.',
    schema: z.string().regex(/^[1-9]\d*$/),
  },
  RateLimit: {
    description: 'What is left of each limiter on this route (IETF RateLimit headers, draft 8), e.g. `"login"; r=4; t=900`.',
    schema: z.string().regex(new RegExp(`^${RATE_LIMIT_ITEM}(, ${RATE_LIMIT_ITEM})*$`)),
  },
  'RateLimit-Policy': {
    description: 'The quota and window of each limiter on this route (draft 8), e.g. `"login"; q=5; w=900`.',
    schema: z.string().regex(new RegExp(`^${RATE_LIMIT_ITEM}(, ${RATE_LIMIT_ITEM})*$`)),
  },
  'Set-Cookie': {
    description: 'Cookie mode only: the `__Host-refresh_token` cookie, `HttpOnly; Secure; SameSite=Strict; Path=/`, no `Domain`.',
    schema: z.string().regex(/^__Host-refresh_token=[^;]*; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/),
  },
  Allow: {
    description: 'The methods the route accepts.',
    schema: z.string().regex(/^[A-Z]+(, [A-Z]+)*$/),
  },
} satisfies Record<string, HeaderSpec>;

export type HeaderName = keyof typeof HEADERS;
