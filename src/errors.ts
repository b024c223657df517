// The one error type of the server: a stable code from a closed set, mapped to its HTTP status here.

/** Every error code the HTTP contract (shared/API.md) defines. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'invalid_grant'
  | 'unauthorized'
  | 'insufficient_scope'
  | 'invalid_mfa_code'
  | 'mfa_required'
  | 'email_not_verified'
  | 'account_disabled'
  | 'not_found'
  | 'method_not_allowed'
  | 'email_taken'
  | 'last_admin'
  | 'mfa_already_enabled'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'server_error'
  | 'not_configured'
  | 'unavailable';

/** Status and a default description for each code: the only place a code meets a status. */
export const ERROR_TABLE: Record<ErrorCode, { status: number; description: string }> = {
  invalid_request: { status: 400, description: 'The request is malformed.' },
  invalid_credentials: { status: 401, description: 'The email or password is incorrect.' },
  invalid_token: { status: 401, description: 'token invalid' },
  invalid_grant: { status: 401, description: 'The refresh token is invalid, expired or revoked.' },
  unauthorized: { status: 401, description: 'Authentication is required.' },
  insufficient_scope: { status: 403, description: 'Your role does not allow this.' },
  invalid_mfa_code: { status: 401, description: 'The code is wrong or was already used.' },
  mfa_required: { status: 403, description: 'Enter the code from your authenticator app to finish signing in.' },
  email_not_verified: {
    status: 403,
    description: 'Confirm your email address before logging in: follow the link we mailed, or reset your password, which confirms it too.',
  },
  account_disabled: { status: 403, description: 'This account has been disabled; ask an administrator.' },
  not_found: { status: 404, description: 'Not found.' },
  method_not_allowed: { status: 405, description: 'This method is not allowed on this route.' },
  email_taken: { status: 409, description: 'This email is already registered.' },
  last_admin: { status: 409, description: 'This would leave no active admin; promote another admin first.' },
  mfa_already_enabled: { status: 409, description: 'Two-step sign-in is already on; turn it off first to enrol again.' },
  payload_too_large: { status: 413, description: 'The request body is too large.' },
  unsupported_media_type: {
    status: 415,
    description: 'The request body must be JSON (Content-Type: application/json).',
  },
  rate_limited: { status: 429, description: 'Too many attempts; try again later.' },
  server_error: { status: 500, description: 'An unexpected error occurred.' },
  not_configured: { status: 501, description: 'This feature is not configured on this server.' },
  unavailable: { status: 503, description: 'The service is temporarily unavailable.' },
};

/** One problem with one field of a request body. */
export interface FieldProblem {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  /** Overrides the table's description; one sentence for humans, never internal detail. */
  description?: string;
  /** Validation problems, rendered as "details" on a 400. */
  details?: FieldProblem[];
  /** Response headers the error needs (WWW-Authenticate, Allow, Retry-After). */
  headers?: Record<string, string>;
  /**
   * The status, where the contract gives one code two: `invalid_grant` is 401 for a refresh token
   * and 400 for a one-time token (a reset or verification link), as RFC 6749 §5.2 has it.
   */
  status?: 400;
  /** The underlying error, for the log only. */
  cause?: unknown;
}

/** Thrown by handlers and services; the error handler renders it as the contract's JSON. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;
  readonly details: FieldProblem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const entry = ERROR_TABLE[code];
    super(options.description ?? entry.description, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.description = options.description ?? entry.description;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}
