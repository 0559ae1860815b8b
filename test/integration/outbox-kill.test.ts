// The outbox under faults, as issue 17 asks: while the application inserts 10,000 rows in
// transactions (some rolled back), node A is killed with SIGKILL, PostgreSQL is restarted in
// crash mode (pg_ctl stop -m immediate), and A comes back; node B consumes throughout. Every
// committed row is published exactly once per channel (ledger checker on SDK subscribers), rows
// of rolled-back transactions never. The table is created with the CLI: `tidings outbox init`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type SdkSubscriber, sdkSubscriber, topOf } from './cluster-clients.js';
import {
  freePort,
  killAll,
  type NodeProcess,
  requireBuild,
  sleep,
  spawnNode,
  until,
  wsUrl,
} from './cluster-harness.js';
import { createLedger, expectEachOnce, ingestNodeConfig } from './ingest-cluster.js';
import { PrivatePostgres } from './private-postgres.js';

const bin = join(fileURLToPath(new URL('../..', import.meta.url)), 'apps/tidings/bin/tidings.js');
const tag = `${process.pid}${Date.now().toString(36)}`;
const channels = ['feed:ob0', 'feed:ob1', 'feed:ob2', 'feed:ob3'];
const transactions = 1000;
const rowsPerTransaction = 10;

let pg: PrivatePostgres | undefined;
afterAll(async () => {
  await killAll();
  pg?.destroy();
});

describe('outbox with kill -9 of a node and a PostgreSQL restart', () => {
  it('publishes each of 10,000 committed rows exactly once, and no rolled-back row', async () => {
    requireBuild();
    pg = new PrivatePostgres(await freePort());
    pg.init();
    pg.start();
    const server = pg;
    const init = execFileSync(process.execPath, [bin, 'outbox', 'init', '--url', server.url], { encoding: 'utf8' });
    expect(init).toContain('outbox ready: "public"."tidings_outbox"');

    const config = ingestNodeConfig(server.dir, `tidings-outbox-kill:${tag}:`, {
      outbox: { enabled: true, url: server.url, pollIntervalMs: 200, retryDelayMs: 200, batchSize: 50 },
    });
    let a: NodeProcess = await spawnNode('A', config);
    const b = await spawnNode('B', config);
    const ledger = createLedger();
    const subs: SdkSubscriber[] = [];
    for (const channel of channels) subs.push(await sdkSubscriber(`sub-${channel}`, wsUrl(b.port), channel, ledger));

    const app = postgres(server.url, { max: 1, onnotice: () => undefined, connect_timeout: 2 });
    const committed = new Map<string, Set<string>>(channels.map((c) => [c, new Set()]));
    // Rows of a transaction whose COMMIT outcome the application never learnt (the server went
    // away mid-commit): each may be published once, or not at all.
    const unknown = new Set<string>();
    let rolledBack = 0;
    let attempt = 0;
    for (let t = 0; t < transactions; t++) {
      let rollBack = t % 10 === 5;
      for (;;) {
        const rows = Array.from({ length: rowsPerTransaction }, (_, i) => ({
          channel: channels[(t + i) % channels.length] ?? 'feed:ob0',
          id: `t${t}-${i}-a${++attempt}`,
        }));
        try {
          await app.begin(async (tx) => {
            for (const r of rows) {
              await tx`INSERT INTO tidings_outbox (channel, data) VALUES (${r.channel}, ${JSON.stringify({ id: r.id })}::text::jsonb)`;
            }
            if (rollBack) throw new Error('application rolls back');
          });
          for (const r of rows) committed.get(r.channel)?.add(r.id);
          break;
        } catch (error) {
          if ((error as Error).message === 'application rolls back') {
            rolledBack++;
            // The rolled-back transaction is followed by a fresh one that commits.
            rollBack = false;
            continue;
          }
          for (const r of rows) unknown.add(r.id);
          await sleep(50);
        }
      }
      if (t === 250) {
        await until(async () => (await topOf(b.url, 'feed:ob0')).offset > 100, 15_000, 'consuming');
        await a.kill();
      }
      if (t === 500) {
        server.stopImmediate();
        await sleep(300);
        server.start();
      }
      if (t === 700) a = await spawnNode('A2', config);
    }
    const total = [...committed.values()].reduce((n, s) => n + s.size, 0);
    expect(total).toBe(transactions * rowsPerTransaction);
    expect(rolledBack).toBe(transactions / 10);

    await until(
      async () => Number((await app`SELECT count(*)::int AS n FROM tidings_outbox`)[0]?.n) === 0,
      60_000,
      'outbox drained',
    );
    await until(
      async () => {
        let published = 0;
        for (const c of channels) published += (await topOf(b.url, c)).offset;
        return published >= total;
      },
      30_000,
      'every committed row published',
    );
    await sleep(1000);
    for (const channel of channels) {
      await expectEachOnce(b.url, channel, committed.get(channel) ?? new Set(), ledger, unknown);
    }
    expect(Number((await app`SELECT count(*)::int AS n FROM tidings_outbox_failed`)[0]?.n)).toBe(0);
    for (const s of subs) s.close();
    await app.end();
    await a.kill();
    await b.kill();
  }, 120_000);
});
