// The documented operations of routes/account-routes.ts: profile (and deleting it) and sessions.
import { z } from 'zod';
import { sessionListSchema, userResponseSchema } from '../response-schemas';
import { deleteProfileBody } from '../schemas';
import { BAD_AUTHORIZATION_OR_JSON } from './common-errors';
import { bearerErrors, passwordRecheckErrors } from './route-errors';
import type { OperationSpec } from './types';

const sessionId = z.object({
  id: z.string().min(1).meta({ description: 'A session id from `GET /sessions` (the `sid` claim of its tokens).' }),
});

export const ACCOUNT_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/profile',
    operationId: 'getProfile',
    tag: 'Account',
    summary: 'The caller',
    auth: 'bearer',
    success: { status: 200, description: 'The account the access token stands for.', body: userResponseSchema },
    errors: bearerErrors(),
  },
  {
    method: 'delete',
    path: '/profile',
    operationId: 'deleteProfile',
    tag: 'Account',
    summary: "Delete the caller's account",
    description:
      'Needs the password again. The account is gone at once: every session ends (its access tokens fail on the next ' +
      'request), its second factors and outstanding reset and verification links are deleted, and the email can be ' +
      'registered again. A wrong password counts as a failed login.',
    auth: 'bearer',
    body: { schema: deleteProfileBody, required: true },
    rateLimited: true,
    hashesPasswords: true,
    success: { status: 204, description: 'The account is deleted.' },
    errors: passwordRecheckErrors('the password is wrong (counted as a failed login)'),
  },
  {
    method: 'get',
    path: '/sessions',
    operationId: 'listSessions',
    tag: 'Account',
    summary: "The caller's live sessions",
    description: '`current` marks the session of the access token used for this request.',
    auth: 'bearer',
    success: { status: 200, description: 'Live sessions, oldest first.', body: sessionListSchema },
    errors: bearerErrors(),
  },
  {
    method: 'delete',
    path: '/sessions/{id}',
    operationId: 'endSession',
    tag: 'Account',
    summary: "End one of the caller's sessions",
    description: 'Its refresh token and all its access tokens stop working at once.',
    auth: 'bearer',
    pathParams: sessionId,
    success: { status: 204, description: 'The session has ended.' },
    errors: bearerErrors(
      {
        invalid_request: BAD_AUTHORIZATION_OR_JSON,
        not_found: "no live session with this id belongs to the caller (another user's session included)",
      },
      { body: true },
    ),
  },
];
