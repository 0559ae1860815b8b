import postgres from 'postgres';
import { type ChannelRule, compileChannelRule } from '../channel-rule.js';
import { deliver, emptyStats, isTemporaryFailure, pause } from '../deliver.js';
import type { IngestLogger, IngestPublisher, IngestSource, IngestStats } from '../types.js';
import {
  checkOutboxNames,
  defaultOutboxNames,
  type OutboxNames,
  outboxMigrationSql,
  outboxTables,
} from './outbox-sql.js';

/** Options of `createPostgresOutbox`. */
export interface PostgresOutboxOptions extends Partial<OutboxNames> {
  /** postgres:// URL. */
  readonly url: string;
  readonly publisher: IngestPublisher;
  readonly logger: IngestLogger;
  /** Rows taken per transaction. Default 100. */
  readonly batchSize?: number;
  /** Poll this often when no NOTIFY arrives (a missed wake-up, a LISTEN reconnecting). Default 1000. */
  readonly pollIntervalMs?: number;
  /** Wait this long after a failed batch (database or engine down) before the next. Default 500. */
  readonly retryDelayMs?: number;
  /**
   * One batch at a time across every node (a transaction-scoped advisory lock), so rows are
   * published in id order whichever node takes them. Default false: nodes take batches side by
   * side, faster, and rows of one channel taken by two nodes at once may be published out of id order.
   */
  readonly ordered?: boolean;
  /** Connections in the pool (one more is used for LISTEN). Default 2. */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
}

/** A running outbox consumer, with the counters tests read. */
export interface PostgresOutbox extends IngestSource {
  readonly stats: IngestStats;
  /** Creates the tables and the trigger (what `tidings outbox init` runs). */
  init(): Promise<void>;
}

interface OutboxRow {
  readonly id: string;
  readonly channel: string;
  readonly data: string;
  readonly idempotency_key: string | null;
}

const encoder = new TextEncoder();
// The channel column is the channel; the rule only exists so outbox rows go through the same
// refusal path as broker messages.
const channelColumn: ChannelRule = compileChannelRule('{channel}', 'outbox');

/**
 * Consumes an outbox table: the application inserts rows in its own transactions; each node
 * takes up to `batchSize` rows with `FOR UPDATE SKIP LOCKED` (so several nodes never take the
 * same row at once), publishes them in id order, and deletes them in the same transaction once
 * every publish resolved (stored). A crash before the commit leaves the rows in place and
 * unlocked; whoever takes them next republishes them with the same idempotency key (the row's
 * `idempotency_key`, else `outbox:<schema>.<table>:<id>`), which the engine suppresses inside the
 * idempotency window: effectively once. Rows whose channel the node refuses for good move to
 * `<table>_failed` with the reason. Wakes on NOTIFY, and polls every `pollIntervalMs`.
 */
export function createPostgresOutbox(options: PostgresOutboxOptions): PostgresOutbox {
  const names: OutboxNames = {
    schema: options.schema ?? defaultOutboxNames.schema,
    table: options.table ?? defaultOutboxNames.table,
    notifyChannel: options.notifyChannel ?? defaultOutboxNames.notifyChannel,
  };
  checkOutboxNames(names);
  const { outbox, failed } = outboxTables(names);
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const { publisher, logger } = options;
  const stats = emptyStats();
  const name = `outbox:${names.schema}.${names.table}`;
  const lockKey = String(advisoryKey(`tidings-outbox:${names.schema}.${names.table}`));
  const sql = postgres(options.url, {
    max: options.maxConnections ?? 2,
    connect_timeout: Math.ceil((options.connectTimeoutMs ?? 5000) / 1000),
    onnotice: () => undefined,
    // Every value crosses as text (ids, JSON, id lists), so no type catalogue is needed.
    fetch_types: false,
  });
  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  let woken = false;
  let loop: Promise<void> | undefined;
  let listening: { unlisten(): Promise<void> } | undefined;

  const nudge = () => {
    woken = true;
    wake?.();
  };

  const waitForWork = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      wake = done;
      stopping.signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        wake = undefined;
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
    });

  /** One transaction: take, publish, delete. Resolves with the rows taken. */
  const batch = async (): Promise<number> => {
    let temporary: unknown;
    const taken = await sql.begin(async (tx) => {
      if (options.ordered === true) {
        // Released at commit or rollback, so a node that dies never holds it.
        const [lock] = await tx.unsafe<Array<{ ok: boolean }>>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [
          lockKey,
        ]);
        if (lock?.ok !== true) return -1;
      }
      const rows = await tx.unsafe<OutboxRow[]>(
        // `o.id`: a bare `id` would sort by the text output column ("10" before "2").
        `SELECT o.id::text AS id, o.channel, o.data::text AS data, o.idempotency_key FROM ${outbox} o
         ORDER BY o.id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      const done: string[] = [];
      const refused: Array<{ id: string; error: string }> = [];
      for (const row of rows) {
        if (stopping.signal.aborted) break;
        try {
          const outcome = await deliver(
            publisher,
            channelColumn,
            {
              idempotencyKey: row.idempotency_key ?? `outbox:${names.schema}.${names.table}:${row.id}`,
              data: encoder.encode(row.data),
              vars: { channel: row.channel },
            },
            stats,
          );
          if (outcome.kind === 'unmapped') refused.push({ id: row.id, error: outcome.reason });
          else done.push(row.id);
        } catch (error) {
          // Keep what is stored so far; the rest stays for the next round.
          temporary = error;
          break;
        }
      }
      if (refused.length > 0) {
        for (const r of refused)
          logger.warn({ source: name, id: r.id, reason: r.error }, 'outbox: row moved to the failed table');
        await tx.unsafe(
          `INSERT INTO ${failed} (id, channel, data, idempotency_key, created_at, error)
           SELECT o.id, o.channel, o.data, o.idempotency_key, o.created_at, f.error
           FROM ${outbox} o JOIN jsonb_to_recordset($1::text::jsonb) AS f(id bigint, error text) ON o.id = f.id
           ON CONFLICT (id) DO NOTHING`,
          [JSON.stringify(refused)],
        );
        done.push(...refused.map((r) => r.id));
      }
      if (done.length > 0)
        await tx.unsafe(`DELETE FROM ${outbox} WHERE id = ANY(string_to_array($1, ',')::bigint[])`, [done.join(',')]);
      return rows.length;
    });
    if (temporary !== undefined) throw temporary;
    return taken;
  };

  const run = async () => {
    while (!stopping.signal.aborted) {
      woken = false;
      let full = false;
      try {
        const taken = await batch();
        // -1: another node holds the ordered lock; it is busy, so look again soon.
        if (taken < 0) {
          await pause(Math.min(pollIntervalMs, 50), stopping.signal);
          continue;
        }
        full = taken >= batchSize;
      } catch (error) {
        if (stopping.signal.aborted) break;
        logger.warn(
          { source: name, err: String(error), temporary: isTemporaryFailure(error) },
          'outbox: batch failed; retrying',
        );
        await pause(retryDelayMs, stopping.signal);
        continue;
      }
      if (!full) await waitForWork(pollIntervalMs);
    }
  };

  return {
    name,
    stats,
    async init() {
      await sql.unsafe(outboxMigrationSql(names)).simple();
    },
    async start() {
      if (loop !== undefined) return;
      listening = await sql.listen(names.notifyChannel, nudge);
      loop = run();
      logger.info({ source: name }, 'outbox: consuming');
    },
    async close() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      await loop;
      await listening?.unlisten().catch(() => undefined);
      await sql.end({ timeout: 2 });
    },
  };
}

/** A stable signed 64-bit key for pg_try_advisory_xact_lock (FNV-1a of the table name). */
function advisoryKey(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, hash);
}
