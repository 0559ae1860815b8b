import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { renderCheckedInDocument } from './checked-in.js';
import { serveRoutes } from './routes.js';
import { metricsOnMainPort, serveDocument } from './serve-document.js';

function documented(config: ReturnType<typeof loadConfig>): string[] {
  return Object.entries(serveDocument(config, '1.2.3').paths)
    .flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`))
    .sort();
}

function routed(config: ReturnType<typeof loadConfig>): string[] {
  return [
    ...new Set(
      serveRoutes(config, { metricsOnMainPort: metricsOnMainPort(config) }).map((r) => `${r.method} ${r.path}`),
    ),
  ].sort();
}

describe('serveDocument', () => {
  it('describes the default server: every route once, metrics off', () => {
    const config = loadConfig({ base: {} });
    expect(documented(config)).toEqual(routed(config));
    expect(documented(config)).not.toContain('get /metrics');
    expect(documented(config)).toContain('get /connection/sse');
  });

  it('follows the configuration: disabled transports left out, moved paths, MQTT over WebSocket, metrics on the main port', () => {
    const config = loadConfig({
      base: {
        sse: { enabled: false },
        poll: { path: '/p' },
        emulation: { ssePath: '/sdk/sse' },
        mqtt: { enabled: true, websocketPath: '/mqtt-ws' },
        metrics: { enabled: true, token: 'metrics-token-0123456789' },
      },
    });
    const doc = serveDocument(config, '1.2.3');
    expect(documented(config)).toEqual(routed(config));
    expect(doc.paths['/connection/poll']).toBeUndefined();
    expect(doc.paths['/p']?.get?.operationId).toBe('poll');
    // SSE off: /connection/sse is not served at all; the SDK's sse transport is at its own path.
    expect(doc.paths['/connection/sse']).toBeUndefined();
    expect(doc.paths['/sdk/sse']?.get?.operationId).toBe('emulation_sse');
    expect(doc.paths['/mqtt-ws']?.get?.operationId).toBe('mqtt_websocket');
    expect(Object.keys(doc.paths['/metrics']?.get?.responses ?? {})).toContain('401');
    expect(doc.info.description).toContain('1.2.3');
  });

  it('leaves /metrics out when it has its own port', () => {
    const config = loadConfig({ base: { metrics: { enabled: true, port: 9100 } } });
    expect(documented(config)).toEqual(routed(config));
    expect(documented(config)).not.toContain('get /metrics');
  });

  it('docs/openapi.json is fresh (regenerate with `npm run docs:openapi -w tidings`)', () => {
    const file = fileURLToPath(new URL('../../../../docs/openapi.json', import.meta.url));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(renderCheckedInDocument()));
  });
});
