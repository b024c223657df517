// The body of POST /introspect: RFC 7662 sends it form-encoded; JSON is taken too. Capped like every body.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../errors';
import { BODY_LIMIT, hasBody, refuseDeclaredOversize } from './json-body';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

function requireFormOrJson(req: Request, _res: Response, next: NextFunction): void {
  if (hasBody(req) && !req.is([FORM, JSON_TYPE])) {
    throw new AppError('unsupported_media_type', {
      description: `The request body must be ${FORM} or ${JSON_TYPE}.`,
    });
  }
  next();
}

/** Form or JSON body parsers: strict content type, no compressed bodies, the app's size limit. */
export function formOrJsonBody(): RequestHandler[] {
  return [
    refuseDeclaredOversize,
    requireFormOrJson,
    express.urlencoded({ extended: false, limit: BODY_LIMIT, inflate: false, parameterLimit: 20, type: FORM }),
    express.json({ limit: BODY_LIMIT, strict: false, inflate: false, type: JSON_TYPE }),
  ];
}
