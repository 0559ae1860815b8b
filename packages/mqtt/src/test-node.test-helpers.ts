// A started node with the memory engine, HS256 auth and an MQTT edge on port 0, for the tests.
import {
  type ClientOptions,
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  signToken,
  type TidingsHooks,
  type TidingsNode,
} from '@tidings/server';
import { createMqttEdge, type MqttEdge } from './mqtt-edge.js';
import type { MqttOptions } from './mqtt-options.js';

export interface TestEdge {
  readonly node: TidingsNode;
  readonly edge: MqttEdge;
  readonly url: string;
  readonly port: number;
  token(sub?: string): Promise<string>;
  close(): Promise<void>;
}

const secret = 'mqtt-test-secret-0123456789abcdef0123456789';

/**
 * Namespaces: `chat` (subscribe + publish for clients, history 1000), `ro` (subscribe only),
 * `nohist`, `priv` (history, but clients may not subscribe).
 */
export async function startTestEdge(
  options: Partial<MqttOptions> = {},
  client: Partial<ClientOptions> = {},
  hooks: TidingsHooks = {},
): Promise<TestEdge> {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [{ alg: 'HS256', secret }] }),
    client,
    hooks,
    channels: {
      namespaces: {
        chat: {
          allowSubscribeForClient: true,
          allowPublishForClient: true,
          historySize: 1000,
          historyTtlMs: 600_000,
          allowRecovery: true,
          allowPositioning: true,
        },
        ro: { allowSubscribeForClient: true, historySize: 10, historyTtlMs: 600_000, allowRecovery: true },
        nohist: { allowSubscribeForClient: true, allowPublishForClient: true },
        priv: { historySize: 10, historyTtlMs: 600_000 },
      },
    },
  });
  await node.start();
  const edge = createMqttEdge({ node, ...options });
  const address = await edge.listen(0, '127.0.0.1');
  return {
    node,
    edge,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    token: (sub = 'alice') => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    close: async () => {
      await edge.close();
      await node.shutdown();
    },
  };
}

/** Poll `check` until it returns true (no fixed sleeps: the machine is loaded). */
export async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
