// The /metrics outcomes metrics.test.ts does not drive: every recovery result (position_ahead
// and history_gap beside recovered and epoch_changed) and disconnects decided by the server API
// (3503 force disconnect, an application code 4501), each counted exactly once per event.
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'outcomes-secret-0123456789abcdef!!!';
const apiKey = 'outcomes-api-key-0123456789';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        metrics: { enabled: true, defaultMetrics: false },
        channels: {
          namespaces: {
            // History keeps 3 publications, so a resume from offset 1 after 6 has a gap.
            o: { historySize: 3, historyTtlMs: 600_000, allowRecovery: true, allowSubscribeForClient: true },
          },
        },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server?.close();
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scrape(): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  for (const line of (await (await fetch(`${server.url}/metrics`)).text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function api(method: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

class Client {
  readonly messages: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;
  #id = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      for (const line of raw.toString().split('\n')) if (line !== '') this.messages.push(JSON.parse(line));
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
    });
  }
  static async open(user: string): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const c = new Client(ws);
    const token = await signToken({ sub: user }, { alg: 'HS256', secret }, { expiresInSec: 600 });
    expect((await c.call({ connect: { token } })).error).toBeUndefined();
    return c;
  }
  async call(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ id, ...command }));
    let reply: Record<string, unknown> | undefined;
    await until(() => {
      reply = this.messages.find((m) => m.id === id);
      return reply !== undefined || this.closeCode !== undefined;
    }, `reply ${id}`);
    if (reply === undefined) throw new Error(`closed with ${this.closeCode}`);
    return reply;
  }
}

describe('/metrics outcomes', () => {
  it('counts every recovery result exactly', async () => {
    let top = { offset: 0, epoch: '' };
    for (let i = 0; i < 6; i++) top = (await api('publish', { channel: 'o:feed', data: { i } })).result as typeof top;
    const before = await scrape();
    const c = await Client.open('reader');
    const recover = async (channel: string, offset: number, epoch: string) => {
      const reply = await c.call({ subscribe: { channel, recover: true, offset, epoch } });
      expect(reply.error).toBeUndefined();
      await c.call({ unsubscribe: { channel } });
      return (reply.subscribe as { recovered?: boolean }).recovered === true;
    };
    expect(await recover('o:feed', 4, top.epoch)).toBe(true); // 5 and 6 are still held
    expect(await recover('o:feed', 1, top.epoch)).toBe(false); // 2 and 3 are gone
    expect(await recover('o:feed', 9, top.epoch)).toBe(false); // ahead of the stream
    expect(await recover('o:feed', 4, 'another-epoch')).toBe(false);
    expect(await recover('o:feed', 1, top.epoch)).toBe(false);
    c.ws.close();
    // The server counts the client going away ("peer") before it drops the connection gauge.
    await until(async () => {
      const s = await scrape();
      return (s.get('tidings_client_connections{transport="websocket",codec="json"}') ?? 0) === 0;
    }, 'the reader gone');
    const after = await scrape();
    const delta = (result: string) =>
      (after.get(`tidings_client_recoveries_total{result="${result}"}`) ?? 0) -
      (before.get(`tidings_client_recoveries_total{result="${result}"}`) ?? 0);
    expect(
      Object.fromEntries(['recovered', 'history_gap', 'position_ahead', 'epoch_changed'].map((r) => [r, delta(r)])),
    ).toEqual({ recovered: 1, history_gap: 2, position_ahead: 1, epoch_changed: 1 });
  });

  it('counts disconnects decided by the server API by their code', async () => {
    const before = await scrape();
    const forced = await Promise.all([Client.open('forced'), Client.open('forced')]);
    const custom = await Client.open('custom');
    await api('disconnect', { user: 'forced' });
    await api('disconnect', { user: 'custom', disconnect: { code: 4501, reason: 'banned' } });
    await until(() => [...forced, custom].every((c) => c.closeCode !== undefined), 'the disconnects');
    expect(forced.map((c) => c.closeCode)).toEqual([3503, 3503]);
    expect(custom.closeCode).toBe(4501);
    await until(async () => {
      const s = await scrape();
      return (s.get('tidings_client_connections{transport="websocket",codec="json"}') ?? 0) === 0;
    }, 'no connection left');
    const after = await scrape();
    const delta = (code: string) =>
      (after.get(`tidings_client_disconnects_total{transport="websocket",code="${code}"}`) ?? 0) -
      (before.get(`tidings_client_disconnects_total{transport="websocket",code="${code}"}`) ?? 0);
    expect({ 3503: delta('3503'), 4501: delta('4501'), peer: delta('peer') }).toEqual({ 3503: 2, 4501: 1, peer: 0 });
  });
});
