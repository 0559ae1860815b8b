import { hostname } from 'node:os';
import { createClient } from 'redis';
import { compileChannelRule } from '../channel-rule.js';
import { deliver, emptyStats, pause } from '../deliver.js';
import type {
  DeliveryOutcome,
  IngestLogger,
  IngestPublisher,
  IngestSource,
  IngestStats,
  UnmappedPolicy,
} from '../types.js';

/** Options of `createRedisStreamsSource`. */
export interface RedisStreamsSourceOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  /** Stream keys read through the group. */
  readonly streams: readonly string[];
  /** Consumer group; created (MKSTREAM) when missing. */
  readonly group: string;
  /** This node's consumer name in the group; default `<hostname>-<pid>`. */
  readonly consumer?: string;
  /** Channel template (`{stream}`, `{id}`, `{field.NAME}`, `{data.PATH}`). */
  readonly channel: string;
  /** The entry field holding the payload. Default `data`. */
  readonly dataField?: string;
  /** Where a new group starts: `$` (entries added from now on, default) or `0` (the whole stream). */
  readonly startId?: string;
  /** Entries read per call. Default 100. */
  readonly batchSize?: number;
  /** XREADGROUP BLOCK, in ms. Default 1000. */
  readonly blockMs?: number;
  /** Pending entries idle this long (their consumer died) are taken over with XAUTOCLAIM. Default 30000. */
  readonly claimIdleMs?: number;
  /** What happens to entries that map to no channel. Default `dead-letter`. */
  readonly onUnmapped?: UnmappedPolicy;
  /** Dead-letter stream key; `{stream}` is replaced. Default `{stream}:dead`. */
  readonly deadLetterStream?: string;
  readonly retryDelayMs?: number;
  readonly publisher: IngestPublisher;
  readonly logger: IngestLogger;
  /** Option path for config errors. */
  readonly path?: string;
}

/** A running Redis Streams consumer, with its counters. */
export interface RedisStreamsSource extends IngestSource {
  readonly stats: IngestStats;
}

interface Entry {
  readonly id: string;
  readonly message: Record<string, string> | null | undefined;
}

function noPayload(field: string, stats: IngestStats): DeliveryOutcome {
  stats.unmapped++;
  return { kind: 'unmapped', reason: `entry has no "${field}" field` };
}

type Client = ReturnType<typeof createClient>;

/**
 * Consumes Redis Streams through a consumer group. Entries are delivered one at a time in stream
 * order and XACKed only after the publication is stored (idempotency key
 * `redis:<stream>:<entry id>`). On start, and after a failed delivery, the consumer first
 * re-reads its own pending entries (id `0`); every `claimIdleMs / 2` it takes over entries another
 * consumer left pending longer than `claimIdleMs` (XAUTOCLAIM), so a dead node's entries are
 * published by a live one. Unmapped entries are copied to the dead-letter stream (with `error`
 * and `source_id` fields) or dropped with a warning, per `onUnmapped`, and then acked.
 */
export function createRedisStreamsSource(options: RedisStreamsSourceOptions): RedisStreamsSource {
  const path = options.path ?? 'ingest';
  const rule = compileChannelRule(options.channel, `${path}.channel`);
  const dataField = options.dataField ?? 'data';
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`;
  const batchSize = options.batchSize ?? 100;
  const blockMs = options.blockMs ?? 1000;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const onUnmapped = options.onUnmapped ?? 'dead-letter';
  const deadLetter = options.deadLetterStream ?? '{stream}:dead';
  const retryDelayMs = options.retryDelayMs ?? 500;
  const { publisher, logger, group, streams } = options;
  const name = `redis-streams:${group}`;
  const stats = emptyStats();
  const encoder = new TextEncoder();
  const stopping = new AbortController();
  const commands: Client = createClient({ url: options.url });
  // XREADGROUP BLOCK holds its connection; acks and claims must not queue behind it.
  const reader: Client = commands.duplicate();
  for (const c of [commands, reader]) c.on('error', () => undefined);
  let loop: Promise<void> | undefined;

  const handle = async (stream: string, entry: Entry): Promise<void> => {
    // A pending entry deleted from the stream (XDEL, MAXLEN trimming) comes back without fields.
    if (entry.message === null || entry.message === undefined) {
      await commands.xAck(stream, group, entry.id);
      return;
    }
    const vars: Record<string, string> = { stream, id: entry.id };
    for (const [k, v] of Object.entries(entry.message)) vars[`field.${k}`] = v;
    const payload = entry.message[dataField];
    const outcome: DeliveryOutcome =
      payload === undefined
        ? noPayload(dataField, stats)
        : await deliver(
            publisher,
            rule,
            { idempotencyKey: `redis:${stream}:${entry.id}`, data: encoder.encode(payload), vars },
            stats,
          );
    if (outcome.kind === 'unmapped') {
      if (onUnmapped === 'dead-letter') {
        const target = deadLetter.replaceAll('{stream}', stream);
        await commands.xAdd(target, '*', { ...entry.message, error: outcome.reason, source_id: entry.id });
        logger.warn(
          { source: name, stream, id: entry.id, reason: outcome.reason, deadLetter: target },
          'ingest: entry dead-lettered',
        );
      } else {
        logger.warn({ source: name, stream, id: entry.id, reason: outcome.reason }, 'ingest: unmapped entry dropped');
      }
    }
    await commands.xAck(stream, group, entry.id);
  };

  const handleAll = async (batches: ReadonlyArray<{ stream: string; entries: readonly Entry[] }>) => {
    for (const { stream, entries } of batches) {
      for (const entry of entries) {
        if (stopping.signal.aborted) return;
        await handle(stream, entry);
      }
    }
  };

  const read = async (id: string, block: boolean) => {
    const reply = await reader.xReadGroup(
      group,
      consumer,
      streams.map((key) => ({ key, id })),
      block ? { COUNT: batchSize, BLOCK: blockMs } : { COUNT: batchSize },
    );
    return toBatches(reply);
  };

  const claim = async () => {
    for (const stream of streams) {
      let start = '0-0';
      do {
        const reply = await commands.xAutoClaim(stream, group, consumer, claimIdleMs, start, { COUNT: batchSize });
        const entries = reply.messages.filter((m) => m !== null) as Entry[];
        if (entries.length > 0)
          logger.info({ source: name, stream, claimed: entries.length }, 'ingest: claimed idle entries');
        await handleAll([{ stream, entries }]);
        start = String(reply.nextId);
      } while (start !== '0-0' && !stopping.signal.aborted);
    }
  };

  const run = async () => {
    let ownPending = true;
    let nextClaim = 0;
    while (!stopping.signal.aborted) {
      try {
        if (Date.now() >= nextClaim) {
          nextClaim = Date.now() + Math.max(100, claimIdleMs / 2);
          await claim();
        }
        if (ownPending) {
          const batches = await read('0', false);
          if (batches.every((b) => b.entries.length === 0)) ownPending = false;
          await handleAll(batches);
          continue;
        }
        await handleAll(await read('>', true));
      } catch (error) {
        if (stopping.signal.aborted) break;
        ownPending = true;
        logger.warn({ source: name, err: String(error) }, 'ingest: redis streams read or delivery failed; retrying');
        await pause(retryDelayMs, stopping.signal);
      }
    }
  };

  return {
    name,
    stats,
    async start() {
      if (loop !== undefined) return;
      await Promise.all([commands.connect(), reader.connect()]);
      for (const stream of streams) {
        try {
          await commands.xGroupCreate(stream, group, options.startId ?? '$', { MKSTREAM: true });
        } catch (error) {
          if (!String(error).includes('BUSYGROUP')) throw error;
        }
      }
      loop = run();
      logger.info({ source: name, streams, consumer }, 'ingest: consuming redis streams');
    },
    async close() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      // Interrupts a blocked XREADGROUP; an entry in delivery finishes (or stays pending) first.
      if (reader.isOpen) reader.destroy();
      await loop;
      if (commands.isOpen) commands.destroy();
    },
  };
}

function toBatches(reply: unknown): Array<{ stream: string; entries: Entry[] }> {
  if (reply === null || reply === undefined) return [];
  const list = reply as Array<{ name: string; messages: Array<Entry | null> }>;
  return list.map((s) => ({
    stream: String(s.name),
    entries: s.messages.filter((m): m is Entry => m !== null),
  }));
}
