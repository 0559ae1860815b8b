// Subscribe across two `tidings serve` nodes on the shared Redis (127.0.0.1:6379, private key
// prefix): a stream on one node receives what is published on the other, and after its stream is
// cut resumes on the OTHER node from its position with 0 lost and 0 duplicated (ledger).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { ApiService, type StreamMessage } from '../../packages/connect/src/gen/tidings/api/v1/api_pb.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const apiKey = 'grpc-redis-api-key-0123456789';
const prefix = `tidings-grpc-test:${randomBytes(6).toString('hex')}:`;
const nodes: RunningServer[] = [];

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const config = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0, h2c: true },
        engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix },
        api: { keys: [apiKey] },
        channels: { namespaces: { feed: { historySize: 1000, historyTtlMs: 300_000, allowRecovery: true } } },
        log: { level: 'error' },
      },
    });
    nodes.push(await startServer(config, { logger: silentLogger, nodeName: name }));
  }
}, 30_000);
afterAll(async () => {
  for (const n of nodes) await n.close();
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

const headers = { 'x-api-key': apiKey };
const client = (n: RunningServer) => createClient(ApiService, createGrpcTransport({ baseUrl: n.url }));

it('a stream resumes on the other node with 0 lost and 0 duplicated', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  const channel = 'feed:two-nodes';
  const ledger = createLedger();
  ledger.subscribed('backend', channel);
  let epoch = '';
  let last = 0n;
  const follow = (n: RunningServer, positions: Record<string, { offset: bigint; epoch: string }> = {}) => {
    const abort = new AbortController();
    const it = client(n)
      .subscribe({ channels: [channel], positions }, { headers, signal: abort.signal })
      [Symbol.asyncIterator]();
    return {
      /** Reads until `n` publications arrived, recording them. */
      async publications(count: number): Promise<void> {
        let seen = 0;
        while (seen < count) {
          const next = await it.next();
          if (next.done) throw new Error('stream ended');
          const m: StreamMessage = next.value;
          if (m.event.case === 'subscribed') epoch = m.event.value.epoch;
          else if (m.event.case === 'discontinuity')
            ledger.discontinuity('backend', channel, { reason: 'discontinuity' });
          else if (m.event.case === 'publication') {
            const id = (JSON.parse(new TextDecoder().decode(m.event.value.data)) as { id: string }).id;
            ledger.received('backend', channel, { offset: Number(m.event.value.offset), epoch, id });
            last = m.event.value.offset;
            seen++;
          }
        }
      },
      /** Waits for `subscribed`. */
      async ready(): Promise<void> {
        const next = await it.next();
        expect(next.value?.event.case).toBe('subscribed');
        if (next.value?.event.case === 'subscribed') epoch = next.value.event.value.epoch;
      },
      cut: () => abort.abort(),
    };
  };
  const publishHttp = async (n: RunningServer, id: string): Promise<void> => {
    const res = await fetch(`${n.url}/api/publish`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: { id } }),
    });
    const { result } = (await res.json()) as { result: { offset: number; epoch: string } };
    ledger.acked(channel, { ...result, id });
  };
  const publishGrpc = async (n: RunningServer, id: string): Promise<void> => {
    const res = await client(n).publish(
      { channel, data: new TextEncoder().encode(JSON.stringify({ id })) },
      { headers },
    );
    ledger.acked(channel, { offset: Number(res.result?.offset), epoch: res.result?.epoch ?? '', id });
  };

  const onB = follow(b);
  await onB.ready();
  for (let i = 0; i < 5; i++) await publishHttp(a, `a-http-${i}`);
  await onB.publications(5);
  onB.cut();
  for (let i = 0; i < 5; i++) await publishGrpc(a, `a-grpc-${i}`);
  for (let i = 0; i < 2; i++) await publishHttp(b, `b-http-${i}`);
  const onA = follow(a, { [channel]: { offset: last, epoch } });
  await onA.publications(7);
  for (let i = 0; i < 3; i++) await publishHttp(b, `b-live-${i}`);
  await onA.publications(3);
  onA.cut();

  const report = ledger.check({ expectAll: true });
  expect(report.acked).toBe(15);
  expect(report.ok, formatLedgerReport(report)).toBe(true);
  expect(report.lost + report.duplicated + report.excused).toBe(0);
}, 30_000);
