// The Tidings side of bench/mqtt-fanout.mjs: one node (memory engine) with its MQTT edge on the
// given port, anonymous clients allowed in namespace `bench`. Prints "ready <port>" when listening.
import { createMqttEdge } from '@tidings/mqtt';
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';

const node = createNode({
  ...createMemoryEngine(),
  authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
  channels: { namespaces: { bench: { allowSubscribeForAnonymous: true, allowPublishForAnonymous: true } } },
  client: { maxQueueBytes: 16 * 1024 * 1024 },
});
await node.start();
const edge = createMqttEdge({ node, maxQueuedMessages: 100_000 });
const address = await edge.listen(Number(process.argv[2] ?? 0), '127.0.0.1');
process.stdout.write(`ready ${address.port}\n`);
process.on('SIGTERM', async () => {
  await edge.close();
  await node.shutdown();
  process.exit(0);
});
