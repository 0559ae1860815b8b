import { jsonResponse, jsonSchemaOf, type OpenApiPaths, ref } from '@tidings/server';
import { z } from 'zod';
import { metricsPath } from '../metrics/metrics-route.js';
import { dashboardPaths, docsPath, healthPath, openApiPath, readyPath } from './routes.js';

/** The body of `/healthz` and `/readyz`. */
export const healthSchema = z.object({
  status: z.enum(['ok', 'ready', 'unavailable']),
  version: z.string().meta({ description: 'server version' }),
  node: z.string().meta({ description: 'node name' }),
  engine: z.object({ type: z.string(), ready: z.boolean() }),
  nodes: z.number().int().min(0).meta({ description: 'nodes of the cluster this node sees' }),
});

/** What the health endpoints answer. */
export type HealthBody = z.output<typeof healthSchema>;

const errorRef = ref('Error');
const health = jsonSchemaOf(healthSchema, 'output');
const example = (status: HealthBody['status']): HealthBody => ({
  status,
  version: '0.1.0',
  node: 'host-1',
  engine: { type: 'memory', ready: status !== 'unavailable' },
  nodes: 1,
});
const notGet = jsonResponse('not GET or HEAD (with `Allow`)', errorRef);

function get(operationId: string, summary: string, description: string, responses: Record<string, unknown>) {
  return { get: { operationId, summary, description, tags: ['Operations'], responses } };
}

/** The app's own endpoints: health, readiness, metrics (when on the main port), this document, the dashboard. */
export function appPaths(options: {
  readonly metricsOnMainPort: boolean;
  readonly metricsToken: boolean;
}): OpenApiPaths {
  const paths: Record<string, unknown> = {
    [healthPath]: get('healthz', 'Liveness', '200 while the process runs.', {
      '200': jsonResponse('alive', health, example('ok')),
      '405': notGet,
    }),
    [readyPath]: get('readyz', 'Readiness', '200 when the node is ready (engine connected), else 503.', {
      '200': jsonResponse('ready', health, example('ready')),
      '503': jsonResponse('not ready; with Retry-After', health, example('unavailable')),
      '405': notGet,
    }),
    [openApiPath]: get('openapi', 'This OpenAPI 3.1 document', 'No API key needed.', {
      '200': { description: 'the document', content: { 'application/json': { schema: { type: 'object' } } } },
      '405': notGet,
    }),
    [docsPath]: get('docs', 'HTML reference of this document', 'Self-contained: no script and no external resource.', {
      '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
      '405': notGet,
    }),
  };
  if (options.metricsOnMainPort) {
    paths[metricsPath] = get(
      'metrics',
      'Prometheus metrics',
      `Text exposition format.${options.metricsToken ? ' Needs `Authorization: Bearer <metrics.token>`.' : ''}`,
      {
        '200': {
          description: 'the metrics',
          content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
        },
        ...(options.metricsToken ? { '401': jsonResponse('missing or wrong metrics token', errorRef) } : {}),
        '405': notGet,
      },
    );
  }
  for (const [i, path] of dashboardPaths.entries()) {
    paths[path] = {
      get: {
        operationId: i === 0 ? 'dashboard' : 'dashboard_index',
        summary: 'The admin dashboard page',
        description: '404 when the dashboard is not installed.',
        tags: ['Operations'],
        responses: {
          '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
          '404': jsonResponse('the dashboard is not installed', errorRef),
          '405': notGet,
        },
      },
    };
  }
  return paths as OpenApiPaths;
}
