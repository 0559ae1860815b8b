/**
 * What an ingest source needs from a Tidings node: a publish that resolves only once the
 * publication is stored (`TidingsNode.publish` satisfies it). Publishes with the same
 * `idempotencyKey` inside the node's idempotency window return the first result and store nothing.
 */
export interface IngestPublisher {
  publish(
    channel: string,
    data: Uint8Array,
    options: { readonly idempotencyKey?: string },
  ): Promise<{ readonly suppressed?: boolean }>;
}

/** The logging surface sources use (pino's, and `@tidings/server`'s `Logger`). */
export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * One message taken from a source, before it is mapped to a channel.
 *
 * `vars` are the values a channel template may name (`{stream}`, `{subject}`, `{routingKey}`,
 * `{field.NAME}`, `{header.NAME}`…), per source; `{data.PATH}` reads a JSON field of `data`.
 */
export interface IngestMessage {
  /** Stable across redeliveries of this message; the publish idempotency key (undefined = none). */
  readonly idempotencyKey: string | undefined;
  readonly data: Uint8Array;
  readonly vars: Readonly<Record<string, string | undefined>>;
}

/** What a source does with a message that maps to no channel or that the node refuses for good. */
export type UnmappedPolicy = 'dead-letter' | 'drop';

/**
 * The outcome of delivering one message. `published` and `suppressed` (a redelivery the
 * idempotency key caught) mean the publication is stored: ack it. `unmapped` means no publish
 * will ever succeed: dead-letter or drop it, per the source's policy, then ack it.
 * A temporary failure (engine unreachable, node stopping) is thrown instead: do not ack.
 */
export type DeliveryOutcome =
  | { readonly kind: 'published'; readonly channel: string }
  | { readonly kind: 'suppressed'; readonly channel: string }
  | { readonly kind: 'unmapped'; readonly reason: string };

/**
 * A running consumer of one external source. Contract every implementation keeps:
 * a message is acknowledged to its source only after `deliver` resolved (the publication is
 * stored, suppressed as a repeat, or dead-lettered/dropped as unmapped), so a crash at any point
 * redelivers it and the idempotency key makes the repeat a no-op. A Kafka consumer fits the same
 * shape: commit the partition offset after `deliver` resolved.
 */
export interface IngestSource {
  /** `kind:name`, for logs and metrics. */
  readonly name: string;
  /** Connects and starts consuming; resolves once the first connection is made. */
  start(): Promise<void>;
  /** Stops consuming; an in-flight message finishes (or stays unacked) first. Idempotent. */
  close(): Promise<void>;
}

/** Counters a source keeps, for tests and logs. */
export interface IngestStats {
  published: number;
  suppressed: number;
  unmapped: number;
  retried: number;
}
