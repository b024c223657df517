// Accepts only JSON bodies, capped in size; everything else is a 415 or 413 before any route runs.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../errors';

export const BODY_LIMIT = '10kb';
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (METHODS_WITH_BODY.has(req.method) && hasBody(req) && !req.is('application/json')) {
    throw new AppError('unsupported_media_type');
  }
  next();
}

/** The JSON body parser: strict content type, no compressed bodies (no zip bombs), 10 kB at most. */
export function jsonBody(): RequestHandler[] {
  return [requireJson, express.json({ limit: BODY_LIMIT, strict: false, inflate: false, type: 'application/json' })];
}
