// Shared by the kill -9 ingest tests: `tidings serve` nodes on the shared Redis (a prefix of their
// own, so the idempotency keys are shared by the nodes) with ingest/outbox options, and the
// end-of-run check: every expected id stored once in history, and an SDK subscriber's ledger clean.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLedger, type Ledger } from '@tidings/testkit';
import { expect } from 'vitest';
import { expectClean } from './cluster-clients.js';
import { api, apiKey, secret } from './cluster-harness.js';

/** Writes a node config with `extra` (outbox / ingest sections) and returns its path. */
export function ingestNodeConfig(dir: string, prefix: string, extra: object): string {
  const file = join(dir, `tidings-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix, connectTimeoutMs: 1000, commandTimeoutMs: 1000 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          feed: { historySize: 20_000, historyTtlMs: 600_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'info' },
      ...extra,
    }),
  );
  return file;
}

/** The whole history of `channel` as ledger entries, read through `base`/api/history. */
export async function historyEntries(base: string, channel: string) {
  const res = await api(base, 'history', { channel, limit: -1 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const result = res.body.result as { epoch: string; publications?: Array<{ data: { id: string }; offset: number }> };
  return (result.publications ?? []).map((p) => ({ offset: p.offset, epoch: result.epoch, id: p.data.id }));
}

/**
 * History holds each of `expected` exactly once (plus, at most once each, ids in `maybe`: rows of
 * transactions whose commit outcome the application never learnt), and the subscribers' ledger,
 * with the history as the acknowledged publications, shows nothing lost, duplicated or reordered.
 */
export async function expectEachOnce(
  base: string,
  channel: string,
  expected: ReadonlySet<string>,
  ledger: Ledger,
  maybe: ReadonlySet<string> = new Set(),
): Promise<void> {
  const entries = await historyEntries(base, channel);
  const seen = new Map<string, number>();
  for (const e of entries) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect(twice, `${channel}: published more than once`).toEqual([]);
  const missing = [...expected].filter((id) => !seen.has(id));
  expect(missing, `${channel}: never published`).toEqual([]);
  const unexpected = [...seen.keys()].filter((id) => !expected.has(id) && !maybe.has(id));
  expect(unexpected, `${channel}: published but never committed`).toEqual([]);
  for (const e of entries) ledger.acked(channel, e);
  expectClean(ledger.check({ expectAll: true }));
}

export { createLedger };
