// The documented operation of routes/metrics-routes.ts: the Prometheus scrape.
import { BAD_AUTHORIZATION } from './common-errors';
import type { OperationSpec } from './types';

const WITH_TOKEN = 'with `METRICS_TOKEN` set';

export const METRICS_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Service',
    summary: 'Metrics for Prometheus',
    description:
      'The Prometheus text format (`text/plain; version=0.0.4`): `auth_logins_total{outcome}`, ' +
      '`auth_refreshes_total{outcome}`, `auth_password_hash_queue`, `http_request_duration_seconds{method,route,status}` ' +
      '(a histogram; `route` is the route pattern, never the raw path) and the process metrics. With `METRICS_TOKEN` ' +
      'set it needs `Authorization: Bearer <METRICS_TOKEN>`; without it the route is open outside production and ' +
      'absent in production.',
    auth: 'metrics',
    success: { status: 200, description: 'Every series, in the Prometheus text format.', mediaType: 'text/plain' },
    errors: {
      invalid_request: `${WITH_TOKEN}: ${BAD_AUTHORIZATION}`,
      unauthorized: `${WITH_TOKEN}: no credentials at all, or another scheme than Bearer`,
      invalid_token: `${WITH_TOKEN}: a Bearer token that is not \`METRICS_TOKEN\``,
      not_found: 'in production without `METRICS_TOKEN`: the route is off',
    },
  },
];
