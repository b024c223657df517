// The documented operations of the service routes: health, readiness, and this document with its docs page.
import { z } from 'zod';
import { healthSchema, readySchema } from '../response-schemas';
import type { OperationSpec } from './types';

/** Enough of an OpenAPI 3.1 document to tell a client it got one; the rest is described by the spec itself. */
const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().regex(/^3\.1\.\d+$/),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ description: 'An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1).' });

export const SERVICE_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'Service',
    summary: 'Liveness: the process answers',
    auth: 'none',
    success: { status: 200, description: 'Alive.', body: healthSchema },
    errors: {},
  },
  {
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    tag: 'Service',
    summary: 'Readiness: the stores answer',
    auth: 'none',
    success: { status: 200, description: 'Every store answered.', body: readySchema },
    errors: { unavailable: 'a backing store did not answer (within 2 s)' },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'Service',
    summary: 'This OpenAPI 3.1 document',
    description: 'Generated at start-up from the same zod schemas that validate requests and describe responses.',
    auth: 'none',
    success: { status: 200, description: 'The document.', body: openApiDocumentSchema },
    errors: {},
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docsPage',
    tag: 'Service',
    summary: 'This document for humans (Swagger UI)',
    description: 'Every asset is served by this server, under a Content-Security-Policy of its own; nothing from a CDN.',
    auth: 'none',
    success: { status: 200, description: 'An HTML page.', mediaType: 'text/html' },
    errors: {},
  },
];
