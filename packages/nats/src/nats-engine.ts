import { JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { NatsConnector } from './connection.js';
import { NatsNames } from './names.js';
import { NatsBroker } from './nats-broker.js';
import { NatsPresence } from './nats-presence.js';
import { NatsRateCounter } from './nats-rate-counter.js';
import { NatsStateStore } from './nats-state.js';

/** Options of `createNatsEngine`. Durations in ms. */
export interface NatsEngineOptions {
  /** `host:port` or `nats://host:port`, one or several. */
  readonly servers: string | readonly string[];
  /** History stream name; the others are `<streamName>_PRESENCE` and `_IDEMPOTENCY`. Default `TIDINGS`. */
  readonly streamName?: string;
  /** Prefix of every subject (dot-separated tokens). Default `tidings`. */
  readonly subjectPrefix?: string;
  /** Connect attempt (and `broker.start`) bound. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** JetStream request bound (publish, read, purge). Default 2000. */
  readonly requestTimeoutMs?: number;
  /** Wait between reconnect attempts. Default 500. */
  readonly reconnectDelayMs?: number;
  /** Client PING interval; two unanswered PINGs count as a disconnect. Default 2000. */
  readonly pingIntervalMs?: number;
  /** Stream `max_msgs_per_subject`: the largest history size any namespace can get. Default 1000. */
  readonly maxMessagesPerChannel?: number;
  /**
   * Stream `max_age`: how long any message, hence a channel's top position, outlives its last
   * publish. Must exceed every namespace history TTL. Default 30 days.
   */
  readonly maxAgeMs?: number;
  /** Stream `duplicate_window`: the idempotency window of every publish. Default 5 minutes. */
  readonly idempotencyWindowMs?: number;
  /** Presence stream `max_age`: must exceed the presence TTL. Default 10 minutes. */
  readonly presenceMaxAgeMs?: number;
  /** Stream storage. Default `file`. */
  readonly storage?: 'file' | 'memory';
  /** Connection name. Default `tidings`. */
  readonly name?: string;
}

/** The parts of a NATS engine, ready for `NodeOptions`. */
export interface NatsEngine {
  readonly broker: NatsBroker;
  /** The same object as `broker`: the NATS broker is its own history store. */
  readonly history: NatsBroker;
  readonly presence: NatsPresence;
  /** Shared rate-limit counters (`NodeOptions.rateCounter`): per-user, per-IP and per-key limits hold cluster-wide. */
  readonly rateCounter: NatsRateCounter;
  /** Latest documents of state channels (`NodeOptions.state`), in the `<streamName>_STATE` stream. */
  readonly state: NatsStateStore;
  /** Closes broker, presence and state, releasing the connection. Idempotent. */
  close(): Promise<void>;
}

/** The stream config this engine sets; the server defaults the rest. */
type StreamSpec = Partial<StreamConfig> & { name: string };

/** The JetStream error code for "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;
/** nats-server 2.9 can answer this, not 10058, to the loser of two nodes adding the same stream at once. */
const SUBJECTS_OVERLAP = 10065;

/**
 * Creates the engine that lets many nodes share one stream per channel through NATS JetStream
 * (server 2.9 or later): a `NatsBroker` (broker and history) and a `NatsPresence` on one
 * connection. The streams are created on connect (and again after a reconnect) if missing; an
 * existing stream is used as it is, so limits changed here apply only to a new stream. Nothing
 * connects until `broker.start` or the first call. Throws `TIDINGS_ERR_CONFIG` for bad names
 * or limits.
 *
 * Retention limits are stream-wide because JetStream 2.9 has no per-message TTL: namespace
 * history sizes below `maxMessagesPerChannel` and namespace TTLs below `maxAgeMs` are enforced
 * by the broker (purge after publish, filtering on read); larger ones are capped by the stream.
 */
export function createNatsEngine(options: NatsEngineOptions): NatsEngine {
  const names = new NatsNames(options.streamName, options.subjectPrefix);
  const maxPerChannel = positive(options.maxMessagesPerChannel ?? 1000, 'maxMessagesPerChannel');
  const maxAgeMs = positive(options.maxAgeMs ?? 30 * 24 * 3600 * 1000, 'maxAgeMs');
  const windowMs = positive(options.idempotencyWindowMs ?? 5 * 60 * 1000, 'idempotencyWindowMs');
  const presenceMaxAgeMs = positive(options.presenceMaxAgeMs ?? 10 * 60 * 1000, 'presenceMaxAgeMs');
  const storage = options.storage ?? 'file';
  const history: StreamSpec = {
    name: names.stream,
    subjects: [names.historyWildcard],
    storage,
    num_replicas: 1,
    allow_direct: true,
    max_msgs_per_subject: maxPerChannel,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(Math.min(windowMs, maxAgeMs)),
    republish: { src: names.historyWildcard, dest: names.deliveryWildcard },
  };
  const presence: StreamSpec = {
    name: names.presenceStream,
    subjects: [names.presenceWildcard],
    storage,
    num_replicas: 1,
    allow_direct: true,
    max_msgs_per_subject: 1,
    max_age: nanos(presenceMaxAgeMs),
    duplicate_window: nanos(Math.min(presenceMaxAgeMs, 60_000)),
  };
  // Remembers the position of each keyed publish for the dedupe window, for when the first
  // publication itself was already trimmed from history (e.g. a channel with no history).
  const idempotency: StreamSpec = {
    name: names.idempotencyStream,
    subjects: [names.idempotencyWildcard],
    storage,
    num_replicas: 1,
    allow_direct: true,
    max_msgs_per_subject: 1,
    max_age: nanos(Math.min(windowMs, maxAgeMs)),
  };
  // One message per (channel, key): a key-value bucket of the latest documents.
  const state: StreamSpec = {
    name: names.stateStream,
    subjects: names.stateWildcards,
    storage,
    num_replicas: 1,
    allow_direct: true,
    max_msgs_per_subject: 1,
    max_age: nanos(maxAgeMs),
  };
  const connector = new NatsConnector({
    servers: options.servers,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    requestTimeoutMs: options.requestTimeoutMs ?? 2000,
    reconnectDelayMs: options.reconnectDelayMs ?? 500,
    pingIntervalMs: options.pingIntervalMs ?? 2000,
    name: options.name ?? 'tidings',
    prepare: async (jsm) => {
      await ensureStream(jsm, history);
      await ensureStream(jsm, presence);
      await ensureStream(jsm, idempotency);
      await ensureStream(jsm, state);
    },
  });
  const broker = new NatsBroker({ connector, names, maxMessagesPerChannel: maxPerChannel });
  const presenceStore = new NatsPresence({ connector: connector.retain(), names });
  const rateCounter = new NatsRateCounter(connector, names);
  const stateStore = new NatsStateStore({ connector: connector.retain(), names });
  return {
    broker,
    history: broker,
    presence: presenceStore,
    rateCounter,
    state: stateStore,
    close: async () => {
      await rateCounter.close();
      await broker.close();
      await presenceStore.close();
      await stateStore.close();
    },
  };
}

/** Adds the stream, or uses the one another node made (possibly with other limits) as it is. */
export async function ensureStream(jsm: Pick<JetStreamManager, 'streams'>, config: StreamSpec): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    if (err.code === STREAM_NAME_IN_USE) return;
    // Racing another node's add: the stream now exists under our name. A real overlap with a
    // stream of another name still fails.
    if (
      err.code === SUBJECTS_OVERLAP &&
      (await jsm.streams.info(config.name).then(
        () => true,
        () => false,
      ))
    )
      return;
    throw err;
  }
}

function positive(value: number, path: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TidingsError(TidingsErrorCode.Config, `nats.${path}: must be a positive number, got ${value}`);
  return Math.ceil(value);
}
