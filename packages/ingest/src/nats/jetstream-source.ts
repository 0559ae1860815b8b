import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { compileChannelRule } from '../channel-rule.js';
import { deliver, emptyStats, pause } from '../deliver.js';
import type { IngestLogger, IngestPublisher, IngestSource, IngestStats, UnmappedPolicy } from '../types.js';

/** Options of `createJetStreamSource`. */
export interface JetStreamSourceOptions {
  /** NATS server URLs. */
  readonly servers: string | readonly string[];
  /** The JetStream stream to consume (it must exist; the application owns it). */
  readonly stream: string;
  /** Durable pull consumer shared by every node; created or updated at start. */
  readonly durable: string;
  /** Only subjects matching this filter (default: the whole stream). */
  readonly filterSubject?: string;
  /** Channel template (`{subject}`, `{subject.N}`, `{stream}`, `{data.PATH}`). */
  readonly channel: string;
  /** Where a new durable starts: every message kept (`all`, default) or only new ones (`new`). */
  readonly deliverPolicy?: 'all' | 'new';
  /** A message unacked this long (its node died) is redelivered to another node. Default 30000. */
  readonly ackWaitMs?: number;
  /** Messages pulled ahead and unacked at once per node. Default 100. */
  readonly maxMessages?: number;
  readonly onUnmapped?: UnmappedPolicy;
  /** Subject unmapped messages are published to (`{subject}` is replaced); a stream must capture it. Default `{subject}.dead`. */
  readonly deadLetterSubject?: string;
  readonly retryDelayMs?: number;
  readonly publisher: IngestPublisher;
  readonly logger: IngestLogger;
  readonly path?: string;
}

/** A running JetStream consumer, with its counters. */
export interface JetStreamSource extends IngestSource {
  readonly stats: IngestStats;
}

/**
 * Consumes a JetStream stream through a durable pull consumer with explicit acks. Messages are
 * delivered one at a time in the order pulled; each is acked (and the ack confirmed by the
 * server, `ackAck`) only after the publication is stored, with idempotency key
 * `nats:<stream>:<stream sequence>`. A temporary failure retries the same message in place
 * (telling the server it is still being worked on), keeping the order. A node that dies leaves
 * its unacked messages to be redelivered to the others after `ackWaitMs`.
 */
export function createJetStreamSource(options: JetStreamSourceOptions): JetStreamSource {
  const path = options.path ?? 'ingest';
  const rule = compileChannelRule(options.channel, `${path}.channel`);
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const onUnmapped = options.onUnmapped ?? 'dead-letter';
  const deadLetter = options.deadLetterSubject ?? '{subject}.dead';
  const retryDelayMs = options.retryDelayMs ?? 500;
  const { publisher, logger, stream, durable } = options;
  const name = `nats:${stream}/${durable}`;
  const stats = emptyStats();
  const stopping = new AbortController();
  let nc: NatsConnection | undefined;
  let messages: { stop(): void; close(): Promise<unknown> } | undefined;
  let loop: Promise<void> | undefined;

  const handle = async (js: JetStreamClient, m: JsMsg) => {
    for (;;) {
      try {
        const outcome = await deliver(
          publisher,
          rule,
          { idempotencyKey: `nats:${stream}:${m.seq}`, data: m.data, vars: { subject: m.subject, stream } },
          stats,
        );
        if (outcome.kind === 'unmapped') {
          if (onUnmapped === 'dead-letter') {
            const target = deadLetter.replaceAll('{subject}', m.subject);
            try {
              await js.publish(target, m.data, { msgID: `dead:${stream}:${m.seq}` });
            } catch (error) {
              // No stream captures the dead-letter subject (or JetStream refused it): retrying would
              // block every message behind this one, so the message is terminated and logged.
              logger.error(
                { source: name, seq: m.seq, reason: outcome.reason, deadLetter: target, err: String(error) },
                'ingest: dead-letter publish failed; message terminated',
              );
              // No reason text: servers before 2.10.4 ignore "+TERM <reason>" and keep the message pending.
              m.term();
              return;
            }
            logger.warn(
              { source: name, seq: m.seq, reason: outcome.reason, deadLetter: target },
              'ingest: message dead-lettered',
            );
          } else {
            logger.warn({ source: name, seq: m.seq, reason: outcome.reason }, 'ingest: unmapped message dropped');
          }
        }
        await m.ackAck();
        return;
      } catch (error) {
        if (stopping.signal.aborted) return;
        logger.warn({ source: name, seq: m.seq, err: String(error) }, 'ingest: delivery failed; retrying');
        m.working();
        await pause(retryDelayMs, stopping.signal);
      }
    }
  };

  const run = async () => {
    while (!stopping.signal.aborted) {
      try {
        const js = jetstream(nc as NatsConnection);
        const consumer = await js.consumers.get(stream, durable);
        const iter = await consumer.consume({ max_messages: options.maxMessages ?? 100 });
        messages = iter;
        for await (const m of iter) {
          if (stopping.signal.aborted) break;
          await handle(js, m);
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        logger.warn({ source: name, err: String(error) }, 'ingest: jetstream consume failed; retrying');
      }
      await pause(retryDelayMs, stopping.signal);
    }
  };

  return {
    name,
    stats,
    async start() {
      if (loop !== undefined) return;
      nc = await connect({
        servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
        name: `tidings-ingest-${durable}`,
        reconnect: true,
        maxReconnectAttempts: -1,
      });
      const jsm = await jetstreamManager(nc);
      const config = {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: Math.max(1000, options.maxMessages ?? 100),
        deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        ...(options.filterSubject === undefined ? {} : { filter_subject: options.filterSubject }),
      };
      try {
        await jsm.consumers.add(stream, config);
      } catch {
        // Exists with other settings (another version of this config): update what may change.
        const { deliver_policy: _fixed, ...mutable } = config;
        await jsm.consumers.update(stream, durable, mutable);
      }
      loop = run();
      logger.info({ source: name }, 'ingest: consuming jetstream');
    },
    async close() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      messages?.stop();
      await loop;
      await nc?.close().catch(() => undefined);
    },
  };
}
