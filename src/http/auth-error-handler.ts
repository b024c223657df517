// For services using the verifier on its own: renders its refusals as the auth server does, with the RFC 6750 challenge.
import type { ErrorRequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * An Express error handler for the errors of verifyToken and requireRole: status, challenge
 * (`WWW-Authenticate`) and the body `{"error", "error_description"}`. Every other error goes on to
 * the service's own handler, so mount this one before it.
 */
export function authErrorHandler(): ErrorRequestHandler {
  return function renderAuthError(error, _req, res, next) {
    if (!(error instanceof AppError) || res.headersSent) {
      next(error);
      return;
    }
    res.status(error.status).set(error.headers).set('Cache-Control', 'no-store');
    res.json({ error: error.code, error_description: error.description });
  };
}
