import {
  createOpenApiDocument,
  jsonSchemaOf,
  type OpenApiDocument,
  serverApiPaths,
  streamPaths,
} from '@tidings/server';
import { adminCookie } from '../admin/admin-auth.js';
import type { TidingsConfig } from '../config/schema.js';
import { adminErrorSchema, adminPaths } from './admin-paths.js';
import { appPaths } from './app-paths.js';
import { apiPrefix } from './routes.js';

/** Whether `/metrics` is served on the main port and needs a token, as `startMetrics` decides. */
export function metricsOnMainPort(config: TidingsConfig): boolean {
  return config.metrics.enabled && config.metrics.port === undefined;
}

/**
 * The OpenAPI 3.1 document of `tidings serve` with this configuration: the paths it really
 * serves (disabled transports are left out, moved paths are where the config puts them).
 */
export function serveDocument(config: TidingsConfig, serverVersion: string): OpenApiDocument {
  const onMain = metricsOnMainPort(config);
  const websockets: Record<string, unknown> = {};
  const streams = streamPaths({
    websocket: config.websocket.path,
    ...(config.sse.enabled ? { sse: config.sse.path } : {}),
    ...(config.httpStream.enabled ? { httpStream: config.httpStream.path } : {}),
    ...(config.poll.enabled ? { poll: config.poll.path } : {}),
    ...(config.emulation.enabled
      ? {
          emulation: {
            httpStreamPath: config.emulation.httpStreamPath,
            ssePath: config.emulation.ssePath,
            path: config.emulation.path,
          },
        }
      : {}),
  });
  if (config.mqtt.enabled) {
    websockets[config.mqtt.websocketPath] = {
      get: {
        operationId: 'mqtt_websocket',
        summary: 'MQTT over WebSocket',
        description: 'Upgrade to WebSocket with subprotocol `mqtt` (MQTT 3.1.1 and 5.0). See docs/mqtt.md.',
        tags: ['Streams'],
        responses: { '101': { description: 'switching to the WebSocket protocol' } },
      },
    };
  }
  return createOpenApiDocument({
    serverVersion,
    paths: [
      appPaths({ metricsOnMainPort: onMain, metricsToken: config.metrics.token !== undefined }),
      serverApiPaths(apiPrefix),
      streams,
      websockets as OpenApiDocument['paths'],
      adminPaths(),
    ],
    schemas: { AdminError: jsonSchemaOf(adminErrorSchema, 'output') },
    securitySchemes: {
      adminSession: { type: 'apiKey', in: 'cookie', name: adminCookie, description: 'set by `POST /admin/api/login`' },
      adminToken: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <admin.token>`' },
    },
    tags: [{ name: 'Admin console', description: 'The admin console and its JSON API. See docs/admin.md.' }],
  });
}
