// Checks a request body against its schema, turning every problem into the contract's 400 details.
import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError, type FieldProblem } from '../errors';

/**
 * Returns the parsed body or throws 400 invalid_request listing each problem. An absent body
 * counts as `{}`, so routes whose fields are all optional accept an empty request.
 */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown, part: 'body' | 'query' = 'body'): z.output<Schema> {
  const input = body === undefined ? {} : body;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AppError('invalid_request', { description: `The ${part} must be a JSON object.` });
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const details: FieldProblem[] = [];
  let named: string | undefined;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details.push({ path: key, message: 'is not an allowed field' });
    } else {
      details.push({ path: issue.path.join('.'), message: issue.message });
      // A schema may name a problem for humans (a too common password): its own description, when it is the only one.
      if (issue.code === 'custom' && typeof issue.params?.description === 'string') named = issue.params.description;
    }
  }
  const description = details.length === 1 && named ? named : part === 'body' ? 'The request body is invalid.' : 'The query is invalid.';
  throw new AppError('invalid_request', { description, details });
}

/**
 * Replaces `req.body` with its parsed form before the next handler: for the routes whose limiters
 * read the body (the account a failed login counts against), which must see it validated and normalised.
 */
export function validBody(schema: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    req.body = parseBody(schema, req.body);
    next();
  };
}
