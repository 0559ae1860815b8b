import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import { compileChannelRule } from '../channel-rule.js';
import { deliver, emptyStats, pause } from '../deliver.js';
import type { IngestLogger, IngestPublisher, IngestSource, IngestStats, UnmappedPolicy } from '../types.js';

/** Options of `createRabbitMqSource`. */
export interface RabbitMqSourceOptions {
  /** amqp:// or amqps:// URL. */
  readonly url: string;
  /** The queue to consume (it must exist; the application owns it and its bindings). */
  readonly queue: string;
  /** Channel template (`{queue}`, `{routingKey}`, `{routingKey.N}`, `{exchange}`, `{header.NAME}`, `{data.PATH}`). */
  readonly channel: string;
  /** Unacked messages the broker sends ahead (basic.qos prefetch). Default 100. */
  readonly prefetch?: number;
  /**
   * `dead-letter`: reject without requeue, so the broker routes it to the queue's
   * `x-dead-letter-exchange` (or discards it when the queue has none). `drop`: log and ack.
   */
  readonly onUnmapped?: UnmappedPolicy;
  readonly retryDelayMs?: number;
  readonly publisher: IngestPublisher;
  readonly logger: IngestLogger;
  readonly path?: string;
}

/** A running RabbitMQ consumer, with its counters. */
export interface RabbitMqSource extends IngestSource {
  readonly stats: IngestStats;
}

/**
 * Consumes a RabbitMQ queue with manual acks and a prefetch bound. Messages are delivered one
 * at a time in the order received and acked only after the publication is stored. The
 * idempotency key is `amqp:<queue>:<message-id>` when the producer set the `message-id`
 * property; without it a message redelivered after a crash is published again (at least once).
 * On a lost connection, unacked messages go back to the queue (the broker requeues them) and
 * the source reconnects every `retryDelayMs`.
 */
export function createRabbitMqSource(options: RabbitMqSourceOptions): RabbitMqSource {
  const path = options.path ?? 'ingest';
  const rule = compileChannelRule(options.channel, `${path}.channel`);
  const onUnmapped = options.onUnmapped ?? 'dead-letter';
  const retryDelayMs = options.retryDelayMs ?? 500;
  const { publisher, logger, queue } = options;
  const name = `rabbitmq:${queue}`;
  const stats = emptyStats();
  const stopping = new AbortController();
  let model: ChannelModel | undefined;
  let chain: Promise<void> = Promise.resolve();
  let reconnecting: Promise<void> | undefined;

  const handle = async (ch: Channel, msg: ConsumeMessage) => {
    const vars: Record<string, string> = {
      queue,
      routingKey: msg.fields.routingKey,
      exchange: msg.fields.exchange,
    };
    for (const [k, v] of Object.entries(msg.properties.headers ?? {})) {
      if (typeof v === 'string' || typeof v === 'number') vars[`header.${k}`] = String(v);
    }
    const id = msg.properties.messageId as string | undefined;
    // Queued behind a closing source: leave it unacked, the broker requeues it.
    if (stopping.signal.aborted) return;
    for (;;) {
      try {
        const outcome = await deliver(
          publisher,
          rule,
          { idempotencyKey: id === undefined ? undefined : `amqp:${queue}:${id}`, data: msg.content, vars },
          stats,
        );
        if (outcome.kind === 'unmapped') {
          logger.warn(
            { source: name, messageId: id, reason: outcome.reason, policy: onUnmapped },
            'ingest: unmapped message',
          );
          if (onUnmapped === 'dead-letter') {
            ch.nack(msg, false, false);
            return;
          }
        }
        ch.ack(msg);
        return;
      } catch (error) {
        // A closed channel cannot ack any more: the broker requeues the message for another consumer.
        if (stopping.signal.aborted || (error as Error).name === 'IllegalOperationError') return;
        logger.warn({ source: name, messageId: id, err: String(error) }, 'ingest: delivery failed; retrying');
        await pause(retryDelayMs, stopping.signal);
      }
    }
  };

  const open = async () => {
    const conn = await connect(options.url);
    conn.on('error', () => undefined);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.checkQueue(queue);
    await ch.prefetch(options.prefetch ?? 100);
    conn.on('close', () => {
      if (!stopping.signal.aborted) {
        logger.warn({ source: name }, 'ingest: rabbitmq connection lost; reconnecting');
        reconnecting ??= reconnect().finally(() => {
          reconnecting = undefined;
        });
      }
    });
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return; // consumer cancelled by the broker (queue deleted)
        chain = chain
          .then(() => handle(ch, msg))
          .catch((error: unknown) =>
            logger.error({ source: name, err: String(error) }, 'ingest: rabbitmq handler failed'),
          );
      },
      { noAck: false },
    );
    model = conn;
  };

  const reconnect = async () => {
    while (!stopping.signal.aborted) {
      await pause(retryDelayMs, stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        await open();
        logger.info({ source: name }, 'ingest: rabbitmq reconnected');
        return;
      } catch (error) {
        logger.warn({ source: name, err: String(error) }, 'ingest: rabbitmq reconnect failed');
      }
    }
  };

  return {
    name,
    stats,
    async start() {
      if (model !== undefined) return;
      await open();
      logger.info({ source: name }, 'ingest: consuming rabbitmq');
    },
    async close() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      await reconnecting;
      await chain;
      await model?.close().catch(() => undefined);
    },
  };
}
