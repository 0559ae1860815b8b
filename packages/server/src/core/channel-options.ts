import { clientError, ErrorCode, TidingsError, TidingsErrorCode } from '@tidings/protocol';

/**
 * Per-namespace channel rules. A channel `ns:rest` uses namespace `ns`; a channel with no `:`
 * uses the top-level (default) namespace. Everything is denied unless enabled.
 */
export interface NamespaceOptions {
  /** Publications kept per channel; 0 = no history (and no recovery). */
  readonly historySize: number;
  /** How long a publication is kept in history. */
  readonly historyTtlMs: number;
  /** How long stream metadata (top offset + epoch) outlives the last publish. */
  readonly historyMetaTtlMs: number;
  /** Clients may subscribe with `recover` (needs history). */
  readonly allowRecovery: boolean;
  /** Every subscription is recoverable, whether or not the client asks. */
  readonly forceRecovery: boolean;
  /** Clients may ask for positioned streams. */
  readonly allowPositioning: boolean;
  /** Every subscription is positioned: the server checks offset contiguity on delivery. */
  readonly forcePositioning: boolean;
  /** Keep presence for channels of this namespace. */
  readonly presence: boolean;
  /** Send join/leave pushes to subscribers that ask for them. */
  readonly joinLeave: boolean;
  /** Send join/leave pushes to every subscriber. */
  readonly forcePushJoinLeave: boolean;
  /** Authenticated clients may subscribe without a subscription token. */
  readonly allowSubscribeForClient: boolean;
  /** Anonymous clients may subscribe without a subscription token. */
  readonly allowSubscribeForAnonymous: boolean;
  /** Subscribers of a channel may publish into it. */
  readonly allowPublishForSubscriber: boolean;
  /** Any authenticated client may publish (without subscribing). */
  readonly allowPublishForClient: boolean;
  /** Anonymous clients may publish. */
  readonly allowPublishForAnonymous: boolean;
  readonly allowHistoryForSubscriber: boolean;
  readonly allowHistoryForClient: boolean;
  readonly allowHistoryForAnonymous: boolean;
  readonly allowPresenceForSubscriber: boolean;
  readonly allowPresenceForClient: boolean;
  readonly allowPresenceForAnonymous: boolean;
  /** Channels whose name ends with `#user1,user2` may only be subscribed by those users. */
  readonly allowUserLimitedChannels: boolean;
  /** When set, the part after `ns:` must match this regular expression. */
  readonly channelRegex?: string;
  /**
   * State channel: the node keeps the latest document per channel, and per key when a
   * publication carries a `key` tag; subscribers get a snapshot first, then updates. Publication
   * data must be JSON; a publication tagged `patch: merge` is an RFC 7396 merge patch applied to
   * the stored document (see docs/state.md).
   */
  readonly state: boolean;
  /** How long a state channel's documents outlive its last publish; 0 = kept until removed. */
  readonly stateTtlMs: number;
  /**
   * Most updates per second a subscriber gets per key; between sends only the latest value per
   * key is kept. 0 = no cap. A subscriber may ask for less (never more).
   */
  readonly maxRate: number;
  /**
   * What happens when a subscriber's outbound queue passes half of `client.maxQueueBytes`:
   * `disconnect` lets it fill and closes the session with 3008 (the default); `conflate` holds
   * the latest publication per key until the queue drains; `skip` drops publications and sends
   * a gap marker (a publication tagged `gap: <count>`) before the next one.
   */
  readonly slowConsumer: SlowConsumerPolicy;
  /** Subscribers may ask for `delta: fossil` (Centrifuge protocol delta compression). */
  readonly allowDelta: boolean;
}

/** Namespace choice for subscribers that cannot keep up; see `NamespaceOptions.slowConsumer`. */
export type SlowConsumerPolicy = 'disconnect' | 'conflate' | 'skip';

/** Defaults: deny everything, keep nothing. */
export const defaultNamespaceOptions: NamespaceOptions = Object.freeze({
  historySize: 0,
  historyTtlMs: 0,
  historyMetaTtlMs: 30 * 24 * 3600 * 1000,
  allowRecovery: false,
  forceRecovery: false,
  allowPositioning: false,
  forcePositioning: false,
  presence: false,
  joinLeave: false,
  forcePushJoinLeave: false,
  allowSubscribeForClient: false,
  allowSubscribeForAnonymous: false,
  allowPublishForSubscriber: false,
  allowPublishForClient: false,
  allowPublishForAnonymous: false,
  allowHistoryForSubscriber: false,
  allowHistoryForClient: false,
  allowHistoryForAnonymous: false,
  allowPresenceForSubscriber: false,
  allowPresenceForClient: false,
  allowPresenceForAnonymous: false,
  allowUserLimitedChannels: false,
  state: false,
  stateTtlMs: 0,
  maxRate: 0,
  slowConsumer: 'disconnect',
  allowDelta: false,
});

/** Channel naming and namespace configuration. */
export interface ChannelsOptions {
  /** Rules of channels without a namespace. */
  readonly defaults?: Partial<NamespaceOptions>;
  /** Rules per namespace name. */
  readonly namespaces?: Readonly<Record<string, Partial<NamespaceOptions>>>;
  /** Longest accepted channel name, in bytes. */
  readonly maxChannelLength?: number;
}

/** A channel's resolved rules plus its namespace name ("" = top level). */
export interface ResolvedChannel {
  readonly namespace: string;
  readonly options: NamespaceOptions;
}

const channelCharset = /^[A-Za-z0-9_\-:.@#,=+/!$*~]+$/;

/**
 * The reserved namespace. Config cannot name it (`$` is not allowed in a namespace name); it
 * holds only the canary probe's channels `$tidings:canary.<id>` (see `canaryChannel`), with
 * every permission off and no history, so no client can subscribe or publish to them; only a
 * server-side subscription (a token's `channels` claim) can receive them, and only the node's
 * own canary (publish source `canary`) can publish into them.
 */
export const reservedNamespace = '$tidings';
const reservedChannel = /^canary\.[A-Za-z0-9_-]{1,64}$/;

/** The canary channel of probe `id` (letters, digits, `_`, `-`; at most 64). */
export function canaryChannel(id: string): string {
  return `${reservedNamespace}:canary.${id}`;
}
const namespaceName = /^[A-Za-z0-9_\-.]+$/;

/**
 * Resolves channel names to namespace rules. Built once from config (validated and frozen);
 * `resolve` is a hot-path lookup with no allocation beyond the namespace split.
 */
export class ChannelRules {
  readonly maxChannelLength: number;
  readonly #top: NamespaceOptions;
  readonly #namespaces: Map<string, NamespaceOptions>;
  readonly #regex: Map<string, RegExp>;

  constructor(options: ChannelsOptions = {}) {
    this.maxChannelLength = options.maxChannelLength ?? 255;
    this.#top = Object.freeze({ ...defaultNamespaceOptions, ...options.defaults });
    this.#namespaces = new Map();
    this.#regex = new Map();
    for (const [name, ns] of Object.entries(options.namespaces ?? {})) {
      if (!namespaceName.test(name)) {
        throw new TidingsError(
          TidingsErrorCode.Config,
          `channels.namespaces.${name}: a namespace name may only hold letters, digits, "_", "-" and "."`,
        );
      }
      const resolved = Object.freeze({ ...defaultNamespaceOptions, ...ns });
      this.#namespaces.set(name, resolved);
      if (resolved.channelRegex !== undefined) {
        try {
          this.#regex.set(name, new RegExp(resolved.channelRegex));
        } catch (error) {
          throw new TidingsError(
            TidingsErrorCode.Config,
            `channels.namespaces.${name}.channelRegex: invalid regular expression`,
            {
              cause: error,
            },
          );
        }
      }
    }
  }

  /** Every namespace's rules, the top level first under the name "". */
  allNamespaces(): Array<[string, NamespaceOptions]> {
    return [['', this.#top], ...this.#namespaces];
  }

  /** Names of configured namespaces. */
  namespaceNames(): string[] {
    return [...this.#namespaces.keys()];
  }

  /**
   * Validates a channel name and returns its rules.
   * @throws TidingsError wire 107 (bad request) for an invalid name, wire 102 (unknown channel)
   * for an unknown namespace or a name the namespace's regex rejects.
   */
  resolve(channel: string): ResolvedChannel {
    if (channel.length === 0 || channel.length > this.maxChannelLength || !channelCharset.test(channel)) {
      throw clientError(ErrorCode.BadRequest, 'bad channel name');
    }
    const colon = channel.indexOf(':');
    if (colon === -1) return { namespace: '', options: this.#top };
    const namespace = channel.slice(0, colon);
    const options = this.#namespaces.get(namespace);
    if (options === undefined) {
      if (namespace === reservedNamespace && reservedChannel.test(channel.slice(colon + 1))) {
        return { namespace, options: defaultNamespaceOptions };
      }
      throw clientError(ErrorCode.UnknownChannel);
    }
    const regex = this.#regex.get(namespace);
    if (regex !== undefined && !regex.test(channel.slice(colon + 1))) throw clientError(ErrorCode.UnknownChannel);
    return { namespace, options };
  }
}

/** For a user-limited channel `ns:name#u1,u2`, the allowed user ids; undefined otherwise. */
export function userLimitedUsers(channel: string): string[] | undefined {
  const hash = channel.lastIndexOf('#');
  if (hash === -1) return undefined;
  return channel.slice(hash + 1).split(',');
}
