import { createServer, type Server } from 'node:net';
import {
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  silentLogger,
  type TidingsNode,
} from '@tidings/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from './config/dev-profile.js';
import { loadConfig } from './config/load.js';
import { startMqttListener } from './mqtt-listener.js';

let node: TidingsNode;
let busy: Server;
let busyPort: number;

beforeEach(async () => {
  node = createNode({ ...createMemoryEngine(), authenticator: createJwtAuthenticator({ keys: [] }) });
  await node.start();
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
  busyPort = (busy.address() as { port: number }).port;
});
afterEach(async () => {
  await node.shutdown();
  await new Promise<void>((resolve) => busy.close(() => resolve()));
});

const config = (port: number) =>
  loadConfig({ base: { http: { host: '127.0.0.1', port: 0 }, mqtt: { enabled: true, port } } });

describe('startMqttListener', () => {
  it('is on in the development profile', () => {
    const serve = resolveServeConfig({ env: {} });
    expect(serve.config.mqtt.enabled).toBe(true);
    expect(serve.config.mqtt.port).toBe(1883);
  });

  it('binds a free port and reports it', async () => {
    const l = await startMqttListener(config(0), node, silentLogger, 'file');
    expect(l.port).toBeGreaterThan(0);
    await l.close();
  });

  it('fails start-up with the option path when the port is taken (config file)', async () => {
    await expect(startMqttListener(config(busyPort), node, silentLogger, 'file')).rejects.toMatchObject({
      code: 'TIDINGS_ERR_CONFIG',
      message: expect.stringContaining('mqtt.port'),
    });
  });

  it('keeps going without MQTT/TCP in the development profile when the port is taken', async () => {
    const l = await startMqttListener(config(busyPort), node, silentLogger, 'development');
    expect(l.port).toBeUndefined();
    await l.close();
  });
});
