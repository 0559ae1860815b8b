// IoT telemetry: devices publish readings over MQTT (any MQTT client; here a simulated one) and
// every browser tab charts them live over Server-Sent Events, from the same Tidings node. Devices
// authenticate with a connection JWT as their MQTT password and may only publish; browsers read
// the public `telemetry` namespace with a plain EventSource. History lets a tab that reconnects
// catch up on the readings it missed.
// Run: node examples/iot-telemetry/server.mjs   then open http://127.0.0.1:3000/
//      (devices: mosquitto_pub -p 1884 -P "$DEVICE_TOKEN" -q 1 -t telemetry/dev-9 -m '{"tempC":21}')
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createMqttEdge } from '@tidings/mqtt';
import {
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  createTidingsHandlers,
  signToken,
} from '@tidings/server';
import { startDevices } from './devices.mjs';

const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

/**
 * Starts the HTTP page + SSE on `port`, MQTT on `mqttPort`, and `devices` simulated devices
 * publishing every `intervalMs`; resolves once everything listens.
 */
export async function start({
  port = Number(process.env.PORT ?? 3000),
  mqttPort = Number(process.env.MQTT_PORT ?? 1884),
  host = '127.0.0.1',
  devices = 3,
  intervalMs = 500,
} = {}) {
  const secret = randomBytes(32).toString('hex');
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [{ alg: 'HS256', secret }], allowAnonymous: true }),
    channels: {
      namespaces: {
        // Browsers read anonymously; only authenticated clients (the devices) publish.
        telemetry: {
          allowSubscribeForAnonymous: true,
          allowPublishForClient: true,
          historySize: 200,
          historyTtlMs: 600_000,
        },
      },
    },
  });
  await node.start();
  const mqtt = createMqttEdge({ node });
  const mqttAddress = await mqtt.listen(mqttPort, host);
  const tidings = createTidingsHandlers(node);
  const server = createServer((req, res) => {
    if (tidings.handleRequest(req, res)) return;
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    res.writeHead(404).end();
  });
  tidings.attach(server);
  await new Promise((resolve) => server.listen(port, host, resolve));
  const deviceToken = await signToken({ sub: 'devices' }, { alg: 'HS256', secret }, { expiresInSec: 86_400 });
  const fleet =
    devices > 0
      ? await startDevices({
          url: `mqtt://${host}:${mqttAddress.port}`,
          token: deviceToken,
          count: devices,
          intervalMs,
        })
      : undefined;
  return {
    url: `http://${host}:${server.address().port}`,
    mqttUrl: `mqtt://${host}:${mqttAddress.port}`,
    deviceToken,
    node,
    async close() {
      await fleet?.stop();
      await mqtt.close();
      await tidings.close();
      await node.shutdown();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start();
  console.log(`IoT telemetry on ${app.url}/ — MQTT on ${app.mqttUrl}`);
  console.log(`DEVICE_TOKEN=${app.deviceToken}`);
}
