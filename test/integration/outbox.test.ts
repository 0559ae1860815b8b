// The PostgreSQL outbox against the shared PostgreSQL (db `test`), each test in its own schema:
// NOTIFY wake-ups, two consumers taking rows concurrently with SKIP LOCKED (each row published
// exactly once), rolled-back rows never published, refused channels moved to the failed table,
// and a crash between publish and delete made harmless by the idempotency key.
import { readFileSync } from 'node:fs';
import { createPostgresOutbox, defaultOutboxNames, outboxMigrationSql } from '@tidings/ingest';
import type { TidingsNode } from '@tidings/server';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { historyIds, recordingLogger, repeats, sleep, startFeedNode, until } from './ingest-helpers.js';

const url = 'postgres://postgres@127.0.0.1:5432/test';
const admin = postgres(url, { max: 2, onnotice: () => undefined });
const cleanups: Array<() => Promise<void>> = [];
let counter = 0;

async function freshSchema(): Promise<string> {
  const schema = `tidings_outbox_t${process.pid}_${++counter}`;
  await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  return schema;
}

async function outboxOn(
  node: TidingsNode,
  schema: string,
  extra: Partial<Parameters<typeof createPostgresOutbox>[0]> = {},
) {
  const logger = recordingLogger();
  const outbox = createPostgresOutbox({
    url,
    schema,
    notifyChannel: `${schema}_n`,
    publisher: node,
    logger,
    pollIntervalMs: 60_000,
    ...extra,
  });
  cleanups.push(() => outbox.close());
  return { outbox, logger };
}

async function insert(schema: string, rows: Array<{ channel: string; id: string }>): Promise<void> {
  await admin.begin(async (tx) => {
    for (const r of rows) {
      await tx.unsafe(`INSERT INTO "${schema}".tidings_outbox (channel, data) VALUES ($1, $2::text::jsonb)`, [
        r.channel,
        JSON.stringify({ id: r.id }),
      ]);
    }
  });
}

const remaining = async (schema: string) =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".tidings_outbox`))[0]?.n);

let node: TidingsNode;
beforeAll(async () => {
  node = await startFeedNode();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await node.shutdown();
  await admin.end();
});

describe('postgres outbox', () => {
  it('ships the migration for the default names as packages/ingest/sql/001_outbox.sql', () => {
    const file = readFileSync(new URL('../../packages/ingest/sql/001_outbox.sql', import.meta.url), 'utf8');
    expect(file).toBe(outboxMigrationSql(defaultOutboxNames));
  });

  it('init is idempotent, and a commit wakes the consumer through NOTIFY (the poll is 60 s)', async () => {
    const schema = await freshSchema();
    const { outbox } = await outboxOn(node, schema);
    await outbox.init();
    await outbox.init();
    await outbox.start();
    // 12 rows: ids 1..12 must be published in numeric order (regression: "10" sorted before "2").
    const wake = Array.from({ length: 12 }, (_, i) => ({ channel: 'feed:wake', id: `w${i + 1}` }));
    await insert(schema, wake);
    await until(async () => (await historyIds(node, 'feed:wake')).length === 12, 5000, 'rows published');
    expect(await historyIds(node, 'feed:wake')).toEqual(wake.map((r) => r.id));
    await until(async () => (await remaining(schema)) === 0, 5000, 'rows deleted');
  });

  it('two consumers on one table publish each of 2,000 committed rows exactly once; rolled-back rows never', async () => {
    const schema = await freshSchema();
    const first = await outboxOn(node, schema, { batchSize: 50, pollIntervalMs: 100 });
    const second = await outboxOn(node, schema, { batchSize: 50, pollIntervalMs: 100 });
    await first.outbox.init();
    await Promise.all([first.outbox.start(), second.outbox.start()]);
    const channels = ['feed:o1', 'feed:o2', 'feed:o3'];
    const committed = new Map<string, string[]>(channels.map((c) => [c, []]));
    for (let t = 0; t < 100; t++) {
      const rows = Array.from({ length: 20 }, (_, i) => {
        const channel = channels[(t + i) % channels.length] ?? 'feed:o1';
        return { channel, id: `t${t}-${i}` };
      });
      if (t % 10 === 9) {
        await admin
          .begin(async (tx) => {
            for (const r of rows) {
              await tx.unsafe(`INSERT INTO "${schema}".tidings_outbox (channel, data) VALUES ($1, $2::text::jsonb)`, [
                r.channel,
                JSON.stringify({ id: `rolled-back-${r.id}` }),
              ]);
            }
            throw new Error('application rolls back');
          })
          .catch(() => undefined);
      }
      await insert(schema, rows);
      for (const r of rows) committed.get(r.channel)?.push(r.id);
    }
    await until(async () => (await remaining(schema)) === 0, 20_000, 'outbox drained');
    for (const channel of channels) {
      const ids = await historyIds(node, channel);
      expect(repeats(ids)).toEqual([]);
      expect(new Set(ids)).toEqual(new Set(committed.get(channel)));
      expect(ids.some((id) => id.startsWith('rolled-back'))).toBe(false);
    }
    const stats = [first.outbox.stats, second.outbox.stats];
    expect(stats.reduce((n, s) => n + s.published, 0)).toBe(2000);
    expect(stats.reduce((n, s) => n + s.suppressed, 0)).toBe(0);
    // Both took part: SKIP LOCKED let them work side by side.
    expect(Math.min(...stats.map((s) => s.published))).toBeGreaterThan(0);
  });

  it('with ordered: true, two consumers publish the rows of a channel in id order', async () => {
    const schema = await freshSchema();
    // Each publish takes a millisecond, as a round trip to a Redis engine would, so two batches
    // taken at once would interleave.
    const slow = {
      publish: async (c: string, d: Uint8Array, o: { idempotencyKey?: string }) => {
        await sleep(1);
        return node.publish(c, d, o);
      },
    } as unknown as TidingsNode;
    const first = await outboxOn(slow, schema, { batchSize: 10, pollIntervalMs: 50, ordered: true });
    const second = await outboxOn(slow, schema, { batchSize: 10, pollIntervalMs: 50, ordered: true });
    await first.outbox.init();
    // Everything is committed before the consumers start, so both race for the same backlog.
    const ids: string[] = [];
    for (let t = 0; t < 100; t++) {
      const rows = Array.from({ length: 10 }, (_, i) => ({ channel: 'feed:ordered', id: `t${t}-${i}` }));
      await insert(schema, rows);
      ids.push(...rows.map((r) => r.id));
    }
    await Promise.all([first.outbox.start(), second.outbox.start()]);
    await until(async () => (await remaining(schema)) === 0, 20_000, 'outbox drained');
    expect(await historyIds(node, 'feed:ordered')).toEqual(ids);
    expect(first.outbox.stats.published + second.outbox.stats.published).toBe(1000);
  });

  it('moves a row whose channel the node refuses to tidings_outbox_failed with the reason', async () => {
    const schema = await freshSchema();
    const { outbox, logger } = await outboxOn(node, schema, { pollIntervalMs: 100 });
    await outbox.init();
    await outbox.start();
    await insert(schema, [
      { channel: 'nowhere:x', id: 'bad' },
      { channel: 'feed:after-bad', id: 'good' },
    ]);
    await until(async () => (await historyIds(node, 'feed:after-bad')).length === 1, 5000, 'good row published');
    // The failed-table insert commits with the batch, after the publishes.
    await until(async () => (await remaining(schema)) === 0, 5000, 'batch committed');
    const failed = await admin.unsafe(
      `SELECT channel, data->>'id' AS id, error FROM "${schema}".tidings_outbox_failed`,
    );
    expect(failed.map((r) => [r.channel, r.id])).toEqual([['nowhere:x', 'bad']]);
    expect(String(failed[0]?.error)).toMatch(/refused/);
    expect(await remaining(schema)).toBe(0);
    expect(logger.warnings.some((w) => w.msg?.includes('failed table'))).toBe(true);
  });

  it('a row published but not deleted (crash before commit) is published again and suppressed by its key', async () => {
    const schema = await freshSchema();
    let crash = true;
    // The first consumer's publish stores, then its process "dies" before the delete commits.
    const crashing = await outboxOn(
      {
        publish: async (channel: string, data: Uint8Array, o: { idempotencyKey?: string }) => {
          const result = await node.publish(channel, data, o);
          if (crash) throw new Error('connection lost after the publish was stored');
          return result;
        },
      } as unknown as TidingsNode,
      schema,
      { pollIntervalMs: 100, retryDelayMs: 60_000 },
    );
    await crashing.outbox.init();
    await insert(schema, [{ channel: 'feed:crash', id: 'c1' }]);
    await crashing.outbox.start();
    await until(async () => (await historyIds(node, 'feed:crash')).length === 1, 5000, 'first publish');
    await crashing.outbox.close();
    expect(await remaining(schema)).toBe(1);
    crash = false;
    const survivor = await outboxOn(node, schema, { pollIntervalMs: 100 });
    await survivor.outbox.start();
    await until(async () => (await remaining(schema)) === 0, 5000, 'row deleted by the survivor');
    expect(await historyIds(node, 'feed:crash')).toEqual(['c1']);
    expect(survivor.outbox.stats.suppressed).toBe(1);
  });
});
