// `tidings serve` as its own process for the SDK order tests (as users run it: the client's
// event loop is not the server's, so socket backpressure and multi-frame reads really happen),
// with a namespace `order` (history, recovery) and a keep-alive agent so that a burst of
// concurrent API publications really is concurrent.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@tidings/server';
import { type NodeProcess, spawnNode } from './cluster-harness.js';

const secret = 'order-secret-0123456789abcdef0123456789';
const apiKey = 'order-api-key-0123456789';

/** A running server process, a token factory and a publish helper through `/api/publish`. */
export interface OrderServer {
  readonly port: number;
  readonly wsUrl: string;
  readonly baseUrl: string;
  token(sub: string): Promise<string>;
  /** Publishes through the HTTP API and resolves with the acknowledged offset. */
  publish(channel: string, data: unknown): Promise<number>;
  /** SIGKILL (no graceful close). */
  kill(): Promise<void>;
}

/** Writes a config with `engine` (default: the embedded memory engine) and `client` options on `port` and starts it. */
export async function startOrderServer(
  options: { port?: number; engine?: Record<string, unknown>; client?: Record<string, unknown>; dir?: string } = {},
): Promise<OrderServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tidings-order-'));
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: options.port ?? 0 },
      engine: options.engine ?? { type: 'memory' },
      ...(options.client === undefined ? {} : { client: options.client }),
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          order: { historySize: 5000, historyTtlMs: 600_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'info' },
    }),
  );
  const node: NodeProcess = await spawnNode('order', file, options.port);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    port: node.port,
    baseUrl: `http://127.0.0.1:${node.port}`,
    wsUrl: `ws://127.0.0.1:${node.port}/connection/websocket`,
    token: (sub) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    publish: (channel, data) => apiPublish(agent, node.port, channel, data),
    kill: async () => {
      agent.destroy();
      await node.kill();
    },
  };
}

/** One `/api/publish` through `agent`; rejects unless the reply is 200. */
function apiPublish(agent: Agent, port: number, channel: string, data: unknown): Promise<number> {
  const body = JSON.stringify({ channel, data });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/api/publish',
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`publish answered ${res.statusCode}: ${text}`));
          resolve((JSON.parse(text) as { result: { offset: number } }).result.offset);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
