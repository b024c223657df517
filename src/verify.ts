// The verifier on its own, for other services: `import { createVerifyToken, requireRole } from 'auth-server/verify'`.
// It loads no configuration, opens no store and starts nothing: only the token check and its middleware.
export {
  createVerifyToken,
  createAccessCheck,
  requireRole,
  requireAmr,
  type AuthContext,
  type IsRevoked,
  type RevocationOptions,
  type SessionCheck,
  type VerifyTokenOptions,
} from './http/verify-token';
export { authErrorHandler } from './http/auth-error-handler';
export { KeyVerifier, type AccessVerifierOptions, type TokenVerifier } from './auth/access-verifier';
export type { AccessClaims } from './auth/access-claims';
export type { JwksOptions } from './auth/jwks-client';
export type { Role } from './config';
export { AppError } from './errors';
