// Every documented operation of the API. A new route gets its entry here, or the conformance tests fail.
import { ACCOUNT_OPERATIONS } from './account-operations';
import { ADMIN_OPERATIONS } from './admin-operations';
import { AUTH_OPERATIONS } from './auth-operations';
import { DISCOVERY_OPERATIONS } from './discovery-operations';
import { LIFECYCLE_OPERATIONS } from './lifecycle-operations';
import { METRICS_OPERATIONS } from './metrics-operations';
import { MFA_OPERATIONS } from './mfa-operations';
import { SERVICE_OPERATIONS } from './service-operations';
import type { OperationSpec } from './types';
import { VERIFICATION_OPERATIONS } from './verification-operations';

export const API_OPERATIONS: readonly OperationSpec[] = [
  ...AUTH_OPERATIONS,
  ...MFA_OPERATIONS,
  ...ACCOUNT_OPERATIONS,
  ...LIFECYCLE_OPERATIONS,
  ...ADMIN_OPERATIONS,
  ...VERIFICATION_OPERATIONS,
  ...DISCOVERY_OPERATIONS,
  ...SERVICE_OPERATIONS,
  ...METRICS_OPERATIONS,
];
