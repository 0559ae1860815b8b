import type { ClientInfo } from '@tidings/protocol';
import type { Authenticator } from '../auth/types.js';
import type {
  BrokerPublishResult,
  HistoryQuery,
  HistoryReadResult,
  PresenceStats,
  PresenceStore,
  StateEntry,
} from '../broker/types.js';
import type { Clock } from '../internal/clock.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsSink, PublicationSource } from '../observability/metrics.js';
import type { ChannelRules } from './channel-options.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { TidingsHooks } from './hooks.js';
import type { Hub } from './hub.js';
import type { ClientOptions } from './options.js';
import type { SharedRateCounter } from './shared-rate.js';

/** Options of a node-level publish. */
export interface NodePublishOptions {
  readonly idempotencyKey?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly info?: ClientInfo;
  /** Deliver without storing in history; the publication still gets an offset. */
  readonly skipHistory?: boolean;
  /** Who published, for the publications metric. Default "api". */
  readonly source?: PublicationSource;
}

/** One publication of `TidingsNode.publishMany`. */
export interface NodePublishItem {
  readonly channel: string;
  readonly data: Uint8Array;
  readonly options?: NodePublishOptions;
}

/**
 * What sessions need from their node: shared services plus the node's channel bookkeeping.
 * Internal to core; the public surface is `TidingsNode`.
 */
export interface NodeContext {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly version: string;
  readonly hub: Hub;
  readonly rules: ChannelRules;
  readonly client: ClientOptions;
  readonly clock: Clock;
  readonly scheduler: FlushScheduler;
  readonly logger: Logger;
  /** Undefined when metrics are off. */
  readonly metrics: MetricsSink | undefined;
  readonly authenticator: Authenticator;
  /** The application's hooks; an empty object when there are none. */
  readonly hooks: TidingsHooks;
  readonly presenceStore: PresenceStore;
  /** Shared by the nodes of the engine for cluster-wide limits; undefined: per node. */
  readonly rateCounter: SharedRateCounter | undefined;
  /** Makes sure the broker delivers `channel` to this node; shared by concurrent callers. */
  ensureChannel(channel: string): Promise<void>;
  /** Called after a session left `channel`; unsubscribes the broker when nobody is left. */
  releaseChannel(channel: string): void;
  publish(channel: string, data: Uint8Array, options?: NodePublishOptions): Promise<BrokerPublishResult>;
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;
  /** Raw history read (no namespace checks): used by subscribe to position and recover. */
  readHistory(channel: string, query: HistoryQuery): Promise<HistoryReadResult>;
  history(channel: string, query: HistoryQuery): Promise<HistoryReadResult>;
  presence(channel: string): Promise<Record<string, ClientInfo>>;
  presenceStats(channel: string): Promise<PresenceStats>;
  /** A state channel's snapshot (every key, by offset); empty without a state store. */
  readState(channel: string): Promise<StateEntry[]>;
}
