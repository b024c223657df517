// The documented operations of routes/account-routes.ts: profile, sessions, and the admin's user list.
import { z } from 'zod';
import { sessionListSchema, userListSchema, userResponseSchema } from '../response-schemas';
import { BAD_AUTHORIZATION, BEARER_ERRORS, BODY_ERRORS, STORE_ERRORS } from './common-errors';
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
    errors: { ...BEARER_ERRORS, ...STORE_ERRORS },
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
    errors: { ...BEARER_ERRORS, ...STORE_ERRORS },
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
    errors: {
      ...BEARER_ERRORS,
      invalid_request: `${BAD_AUTHORIZATION}, or a body that is not valid JSON`,
      not_found: "no live session with this id belongs to the caller (another user's session included)",
      ...BODY_ERRORS,
      ...STORE_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/admin/users',
    operationId: 'listUsers',
    tag: 'Admin',
    summary: 'Every account (admins only)',
    auth: 'admin',
    success: { status: 200, description: 'All users, in the order they registered.', body: userListSchema },
    errors: {
      ...BEARER_ERRORS,
      insufficient_scope: 'the access token is valid but its role is not `admin`',
      ...STORE_ERRORS,
    },
  },
];
