// The documented operations of routes/admin-routes.ts: finding, creating, changing and deleting users, ending their sessions, removing their factors, reading the audit log.
import { z } from 'zod';
import { adminUserPageSchema, adminUserResponseSchema, adminUserSchema, auditPageSchema, sessionSchema } from '../response-schemas';
import { adminCreateUserBody, adminUpdateUserBody, adminUserListQuery, auditQuery } from '../schemas';
import {
  BAD_AUTHORIZATION,
  BAD_AUTHORIZATION_OR_JSON,
  BAD_BODY_OR_AUTHORIZATION,
  BEARER_ERRORS,
  HASHING_BUSY,
  MAIL_OFF,
} from './common-errors';
import { routeErrors, type ErrorTail, type RouteErrorList } from './route-errors';
import type { OperationSpec } from './types';

const TAG = 'Admin';

/** The answer to GET /admin/users/{id}: the user and their live sessions. */
export const adminUserDetailSchema = z
  .strictObject({
    user: adminUserSchema,
    sessions: z.array(sessionSchema).meta({ description: 'The live sessions of the user, oldest first; `current` is always false here.' }),
  })
  .meta({ id: 'AdminUserDetail' });

const userId = z.object({
  id: z.string().min(1).meta({ description: 'A user id: the `id` of an AdminUser, the `sub` claim of their tokens.' }),
});

/** The query schema the route validates with, each parameter described. */
const listQuery = adminUserListQuery.extend({
  limit: adminUserListQuery.shape.limit.meta({ description: 'Users per page, a whole number from 1 to 200; 50 when absent.' }),
  cursor: adminUserListQuery.shape.cursor.meta({ description: 'The `next_cursor` of the previous page; absent for the first page.' }),
  email: adminUserListQuery.shape.email.meta({
    description: 'Only users whose email contains this text, whatever its case. Keep it with the cursor when paging.',
  }),
});

/** The query schema GET /admin/audit validates with, each parameter described. */
const auditListQuery = auditQuery.extend({
  limit: auditQuery.shape.limit.meta({ description: 'Events per page, a whole number from 1 to 200; 50 when absent.' }),
  cursor: auditQuery.shape.cursor.meta({
    description: 'The `next_cursor` of the previous page; absent for the first page. Keep the other parameters when paging.',
  }),
  user_id: auditQuery.shape.user_id.meta({ description: 'Only events of this account (their `user_id`): what happened to it, whoever did it.' }),
  type: auditQuery.shape.type.meta({ description: 'Only events of this type.' }),
  since: auditQuery.shape.since.meta({
    description: 'Only events at or after this time, in ISO 8601 with a date and a time (`2026-12-01T00:00:00Z`).',
  }),
  until: auditQuery.shape.until.meta({ description: 'Only events before this time, in ISO 8601 with a date and a time.' }),
});

/** Every admin route: a token of another role is refused after the token check. */
const ADMIN_ERRORS = {
  ...BEARER_ERRORS,
  insufficient_scope: 'the access token is valid but its role is not `admin`',
} as const;

function adminErrors(own: RouteErrorList, tail?: ErrorTail): RouteErrorList {
  return routeErrors(ADMIN_ERRORS, own, tail);
}

const UNKNOWN_USER = 'no user has this id';

/**
 * An admin's DELETE on one user, answered 204 once `done`: it takes no body, and an unknown id is
 * a 404; `errors` adds what else may refuse it.
 */
function userAction(
  op: Pick<OperationSpec, 'path' | 'operationId' | 'summary' | 'description'> & { done: string; errors?: RouteErrorList },
): OperationSpec {
  const { done, errors = {}, ...described } = op;
  return {
    method: 'delete',
    ...described,
    tag: TAG,
    auth: 'admin',
    pathParams: userId,
    success: { status: 204, description: done },
    errors: adminErrors({ invalid_request: BAD_AUTHORIZATION_OR_JSON, not_found: UNKNOWN_USER, ...errors }, { body: true }),
  };
}

export const ADMIN_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/admin/users',
    operationId: 'listUsers',
    tag: TAG,
    summary: 'Find users, a page at a time',
    description:
      'Oldest first. A page ends with `next_cursor`; pass it as `cursor` (with the same `email`) for the next page, ' +
      'until it is null. Users added while paging come on a later page, never twice nor in place of another.',
    auth: 'admin',
    queryParams: listQuery,
    success: { status: 200, description: 'A page of users.', body: adminUserPageSchema },
    errors: adminErrors({
      invalid_request:
        `${BAD_AUTHORIZATION}; or a query parameter that is not valid (a \`limit\` outside 1 to 200, a \`cursor\` this ` +
        'server did not hand out, a parameter given twice, an unknown one)',
    }),
  },
  {
    method: 'post',
    path: '/admin/users',
    operationId: 'createUser',
    tag: TAG,
    summary: 'Create a user, with a password or an invitation',
    description:
      'The password follows the rules of `/register`. Without one, the account gets a password nobody knows and the ' +
      'address a reset mail as its invitation: the user chooses a password at `POST /password/reset`.',
    auth: 'admin',
    body: { schema: adminCreateUserBody, required: true },
    hashesPasswords: true,
    success: { status: 201, description: 'The new account.', body: adminUserResponseSchema },
    errors: adminErrors(
      { invalid_request: BAD_BODY_OR_AUTHORIZATION, email_taken: 'the email is already registered' },
      {
        body: true,
        unavailable: HASHING_BUSY,
        notConfigured: `no \`password\` was given and ${MAIL_OFF}, so no invitation can go out`,
      },
    ),
  },
  {
    method: 'get',
    path: '/admin/users/{id}',
    operationId: 'getUser',
    tag: TAG,
    summary: 'A user and their live sessions',
    auth: 'admin',
    pathParams: userId,
    success: { status: 200, description: 'The user and their sessions.', body: adminUserDetailSchema },
    errors: adminErrors({ not_found: UNKNOWN_USER }),
  },
  {
    method: 'patch',
    path: '/admin/users/{id}',
    operationId: 'updateUser',
    tag: TAG,
    summary: "Change a user's role, state or verification",
    description:
      'Only the fields given change. Disabling ends every session of the user at once, on every instance: their ' +
      'access tokens fail on the next request, and the right password then answers `403 account_disabled`. ' +
      'Enabling again lets them log in; it opens no session.',
    auth: 'admin',
    pathParams: userId,
    body: { schema: adminUpdateUserBody, required: true },
    success: { status: 200, description: 'The user as changed.', body: adminUserResponseSchema },
    errors: adminErrors(
      {
        invalid_request: BAD_BODY_OR_AUTHORIZATION,
        not_found: UNKNOWN_USER,
        last_admin: 'the change would demote or disable the last active admin: promote another admin first',
      },
      { body: true },
    ),
  },
  userAction({
    path: '/admin/users/{id}',
    operationId: 'deleteUser',
    summary: 'Delete a user',
    description:
      'As `DELETE /profile` does: every session ends at once, the second factors and outstanding links are deleted, ' +
      'and the email can be registered again.',
    done: 'The user is deleted.',
    errors: { last_admin: 'the user is the last active admin: promote another admin first' },
  }),
  userAction({
    path: '/admin/users/{id}/sessions',
    operationId: 'endUserSessions',
    summary: 'End every session of a user',
    description: 'Their refresh tokens and access tokens stop working at once, on every instance. They can log in again.',
    done: 'Every session of the user has ended (there may have been none).',
  }),
  userAction({
    path: '/admin/users/{id}/mfa',
    operationId: 'removeUserFactors',
    summary: 'Remove every second factor of a user',
    description:
      'For a user who lost their authenticator and their recovery codes: the password alone signs in again, and ' +
      'they may enrol anew. Their sessions are left as they are.',
    done: 'The user has no second factor (there may have been none).',
  }),
  {
    method: 'get',
    path: '/admin/audit',
    operationId: 'listAuditEvents',
    tag: TAG,
    summary: 'Read the audit log, a page at a time',
    description:
      'Newest first. Each event names its account, who did it (the admin for admin actions, else the user), the client ' +
      'address and User-Agent, and details an operator needs; never a password, token, hash or code. Filters combine. ' +
      'A page ends with `next_cursor`; pass it as `cursor` (with the same filters) for the next page, until it is null. ' +
      'Events recorded while paging never appear on a later page: they are newer than the first one. A database keeps ' +
      'events for `AUDIT_RETENTION` (90 days by default); memory and Redis keep the newest ones only.',
    auth: 'admin',
    queryParams: auditListQuery,
    success: { status: 200, description: 'A page of audit events.', body: auditPageSchema },
    errors: adminErrors({
      invalid_request:
        `${BAD_AUTHORIZATION}; or a query parameter that is not valid (a \`limit\` outside 1 to 200, a \`cursor\` not of the ` +
        'form this server hands out, a `type` that is not an event type, a `since` or `until` that is not an ISO 8601 time, ' +
        'a parameter given twice, an unknown one)',
    }),
  },
];
