import { apiMethods } from '@tidings/server';
import type { TidingsConfig } from '../config/schema.js';
import { metricsPath } from '../metrics/metrics-route.js';
import { adminApiPrefix, adminEndpoints } from './admin-paths.js';

/** Liveness. */
export const healthPath = '/healthz';
/** Readiness. */
export const readyPath = '/readyz';
/** Prefix of the server API (fixed, as Centrifugo's). */
export const apiPrefix = '/api';
/** The OpenAPI document. */
export const openApiPath = `${apiPrefix}/openapi.json`;
/** The HTML reference rendered from it. */
export const docsPath = `${apiPrefix}/docs`;
/** The dashboard page (also served at `/index.html`). */
export const dashboardPaths = ['/', '/index.html'] as const;

/** One route `tidings serve` answers on its main HTTP port. */
export interface Route {
  readonly method: 'get' | 'post';
  readonly path: string;
  /** Upgrades the connection (WebSocket) instead of answering over HTTP. */
  readonly upgrade?: boolean;
}

/**
 * Every route of `tidings serve` on the main HTTP port for this configuration, in the order the
 * router tries them (http-routes.ts and the upgrade handler of serve.ts). The OpenAPI document
 * must describe each one: the OpenAPI test enumerates this list. `HEAD` goes with every `GET`
 * that answers JSON or HTML and is not listed apart; CORS preflights (`OPTIONS`) neither.
 */
export function serveRoutes(config: TidingsConfig, options: { readonly metricsOnMainPort: boolean }): Route[] {
  const routes: Route[] = [
    { method: 'get', path: healthPath },
    { method: 'get', path: readyPath },
  ];
  if (options.metricsOnMainPort) routes.push({ method: 'get', path: metricsPath });
  routes.push({ method: 'get', path: openApiPath }, { method: 'get', path: docsPath });
  // The admin console is always routed (it answers 404 admin_disabled while off).
  routes.push({ method: 'get', path: '/admin' });
  for (const [name, method] of Object.entries(adminEndpoints))
    routes.push({ method, path: `${adminApiPrefix}/${name}` });
  for (const method of apiMethods) routes.push({ method: 'post', path: `${apiPrefix}/${method}` });
  routes.push({ method: 'get', path: `${apiPrefix}/history/stream` });
  routes.push({ method: 'get', path: `${apiPrefix}/state` });
  if (config.emulation.enabled) {
    routes.push(
      { method: 'post', path: config.emulation.httpStreamPath },
      { method: 'get', path: config.emulation.ssePath },
      { method: 'post', path: config.emulation.path },
    );
  }
  if (config.sse.enabled) routes.push({ method: 'get', path: config.sse.path });
  if (config.httpStream.enabled) routes.push({ method: 'get', path: config.httpStream.path });
  if (config.poll.enabled) routes.push({ method: 'get', path: config.poll.path });
  for (const path of dashboardPaths) routes.push({ method: 'get', path });
  routes.push({ method: 'get', path: config.websocket.path, upgrade: true });
  if (config.mqtt.enabled) routes.push({ method: 'get', path: config.mqtt.websocketPath, upgrade: true });
  return routes;
}
