// Shared set-up of the one-way transport tests: a real server with history namespaces, tokens,
// and publishing through the server API.
import { signToken } from '@tidings/server';
import type { Ledger } from '@tidings/testkit';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

export const secret = 'integration-secret-0123456789abcdef';
export const apiKey = 'integration-api-key-0123456789';

const chat = {
  historySize: 500,
  historyTtlMs: 300_000,
  allowRecovery: true,
  allowSubscribeForClient: true,
};

/** `chat:*` keeps history; `brief:*` keeps it 1 s; `locked:*` needs subscription tokens; `live:*` has none. */
export function startOneWayServer(port = 0): Promise<RunningServer> {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      sse: { heartbeatIntervalMs: 1_000, retryMs: 1_500 },
      httpStream: { heartbeatIntervalMs: 1_000 },
      channels: {
        namespaces: {
          chat,
          brief: { ...chat, historyTtlMs: 1_000 },
          locked: { historySize: 10, historyTtlMs: 60_000, allowRecovery: true },
          live: { allowSubscribeForClient: true },
        },
      },
      log: { level: 'error' },
    },
  });
  return startServer(config, { logger: silentLogger });
}

export const token = (sub: string, claims: Record<string, unknown> = {}) =>
  signToken({ sub, ...claims }, { alg: 'HS256', secret }, { expiresInSec: 3600 });

export async function publish(
  base: string,
  channel: string,
  data: unknown,
): Promise<{ offset: number; epoch: string }> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  if (res.status !== 200) throw new Error(`publish answered ${res.status}`);
  return ((await res.json()) as { result: { offset: number; epoch: string } }).result;
}

/** Publishes `{ id }` and records the acknowledgement in the ledger. */
export async function publishAcked(base: string, ledger: Ledger, channel: string, id: string): Promise<void> {
  const ack = await publish(base, channel, { id });
  ledger.acked(channel, { offset: ack.offset, epoch: ack.epoch, id });
}
