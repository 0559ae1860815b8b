import {
  createJetStreamSource,
  createPostgresOutbox,
  createRabbitMqSource,
  createRedisStreamsSource,
  type IngestLogger,
  type IngestPublisher,
  type IngestSource,
} from '@tidings/ingest';
import type { TidingsConfig } from './config/schema.js';

/** The outbox and broker consumers of one server, started and stopped together. */
export interface RunningIngest {
  /** Stops every source; in-flight messages finish or stay unacked. */
  close(): Promise<void>;
}

type SourceFactory = () => IngestSource;

/**
 * Builds a factory per configured source (`outbox.enabled`, `ingest.sources[]`). Building checks
 * every channel template and outbox name, so a bad config fails here, before anything starts.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` naming the option path.
 */
export function planIngest(config: TidingsConfig, publisher: IngestPublisher, logger: IngestLogger): SourceFactory[] {
  const retryDelayMs = config.ingest.retryDelayMs;
  const factories: SourceFactory[] = [];
  const outbox = config.outbox;
  if (outbox.enabled && outbox.url !== undefined) {
    const url = outbox.url;
    factories.push(() =>
      createPostgresOutbox({
        url,
        schema: outbox.schema,
        table: outbox.table,
        notifyChannel: outbox.notifyChannel,
        batchSize: outbox.batchSize,
        pollIntervalMs: outbox.pollIntervalMs,
        retryDelayMs: outbox.retryDelayMs,
        maxConnections: outbox.maxConnections,
        ordered: outbox.ordered,
        publisher,
        logger,
      }),
    );
  }
  config.ingest.sources.forEach((s, i) => {
    const path = `ingest.sources[${i}]`;
    const common = { publisher, logger, path, retryDelayMs, onUnmapped: s.onUnmapped, channel: s.channel };
    switch (s.type) {
      case 'redis-streams':
        factories.push(() =>
          createRedisStreamsSource({
            ...common,
            url: s.url,
            streams: s.streams,
            group: s.group,
            ...(s.consumer === undefined ? {} : { consumer: s.consumer }),
            dataField: s.dataField,
            startId: s.startId,
            batchSize: s.batchSize,
            blockMs: s.blockMs,
            claimIdleMs: s.claimIdleMs,
            deadLetterStream: s.deadLetterStream,
          }),
        );
        break;
      case 'nats-jetstream':
        factories.push(() =>
          createJetStreamSource({
            ...common,
            servers: s.servers,
            stream: s.stream,
            durable: s.durable,
            ...(s.filterSubject === undefined ? {} : { filterSubject: s.filterSubject }),
            deliverPolicy: s.deliverPolicy,
            ackWaitMs: s.ackWaitMs,
            maxMessages: s.maxMessages,
            deadLetterSubject: s.deadLetterSubject,
          }),
        );
        break;
      case 'rabbitmq':
        factories.push(() => createRabbitMqSource({ ...common, url: s.url, queue: s.queue, prefetch: s.prefetch }));
        break;
    }
  });
  // Build each once now so templates and names are checked at start; the instances are dropped
  // unstarted (nothing connects before start()).
  for (const make of factories)
    void make()
      .close()
      .catch(() => undefined);
  return factories;
}

/**
 * Starts every planned source. A source whose service is unreachable does not stop the server:
 * its start is retried every `ingest.retryDelayMs` (each attempt on a fresh client) and logged,
 * and once started the source itself rides out outages.
 */
export function startIngest(
  factories: readonly SourceFactory[],
  retryDelayMs: number,
  logger: IngestLogger,
): RunningIngest {
  const stopping = new AbortController();
  const running = new Set<IngestSource>();
  const supervise = async (make: SourceFactory) => {
    while (!stopping.signal.aborted) {
      const source = make();
      try {
        await source.start();
        if (stopping.signal.aborted) await source.close();
        else running.add(source);
        return;
      } catch (error) {
        await source.close().catch(() => undefined);
        if (stopping.signal.aborted) return;
        logger.error({ source: source.name, err: String(error) }, 'ingest: cannot start source; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryDelayMs);
          stopping.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
  };
  const supervisors = factories.map(supervise);
  return {
    async close() {
      stopping.abort();
      await Promise.all(supervisors);
      await Promise.all([...running].map((s) => s.close()));
      running.clear();
    },
  };
}
