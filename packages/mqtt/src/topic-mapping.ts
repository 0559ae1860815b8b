/** Why a topic could not be mapped to a channel. */
export type TopicRefusal = 'empty' | 'nul' | 'wildcard' | 'reserved' | 'prefix' | 'separator';

/** Options of the topic ↔ channel mapping. */
export interface TopicMappingOptions {
  /**
   * Separator between namespace and the rest of a channel name (`chat:lobby`). The first topic
   * level is the namespace: `chat/lobby` ↔ `chat:lobby`. Default `:`.
   */
  readonly namespaceSeparator?: string;
  /**
   * A topic prefix that is stripped before mapping (and added back on delivery), e.g. `tidings/`
   * so that `tidings/chat/lobby` ↔ `chat:lobby`. Default none.
   */
  readonly topicPrefix?: string;
}

/** A mapped topic, or the reason it was refused. */
export type TopicMapResult =
  | { readonly ok: true; readonly channel: string }
  | { readonly ok: false; readonly reason: TopicRefusal };

/**
 * The documented, reversible mapping between MQTT topic names and Tidings channels.
 *
 * Contract: a topic `a/b/c` maps to channel `a:b/c` (first level = namespace, the rest kept as
 * is); a one-level topic `a` maps to channel `a` (default namespace). `channelToTopic` is the
 * exact inverse for every channel `topicToChannel` produced. Topics with NUL, wildcards (`+`,
 * `#`), a namespace separator in the first level (it would make the mapping ambiguous), a leading `$` (reserved by MQTT for the server) or empty are refused; the channel length
 * and charset are checked by the node's channel rules afterwards.
 */
export class TopicMapping {
  readonly #sep: string;
  readonly #prefix: string;

  constructor(options: TopicMappingOptions = {}) {
    this.#sep = options.namespaceSeparator ?? ':';
    this.#prefix = options.topicPrefix ?? '';
    if (this.#sep.length === 0 || this.#sep.includes('/')) {
      throw new RangeError('mqtt.namespaceSeparator must be a non-empty string without "/"');
    }
  }

  /** Map a topic name (PUBLISH, or a subscription filter without wildcards) to a channel. */
  topicToChannel(topic: string): TopicMapResult {
    if (topic.length === 0) return { ok: false, reason: 'empty' };
    if (topic.includes('\u0000')) return { ok: false, reason: 'nul' };
    if (topic.includes('+') || topic.includes('#')) return { ok: false, reason: 'wildcard' };
    if (topic.startsWith('$')) return { ok: false, reason: 'reserved' };
    let rest = topic;
    if (this.#prefix !== '') {
      if (!topic.startsWith(this.#prefix)) return { ok: false, reason: 'prefix' };
      rest = topic.slice(this.#prefix.length);
      if (rest.length === 0) return { ok: false, reason: 'empty' };
    }
    const slash = rest.indexOf('/');
    // A separator in the first level would make two topics name one channel.
    const first = slash < 0 ? rest : rest.slice(0, slash);
    if (first.includes(this.#sep)) return { ok: false, reason: 'separator' };
    if (slash < 0) return { ok: true, channel: rest };
    if (slash === 0 || slash === rest.length - 1) return { ok: false, reason: 'empty' };
    return { ok: true, channel: `${rest.slice(0, slash)}${this.#sep}${rest.slice(slash + 1)}` };
  }

  /** The topic a publication of `channel` is delivered on. */
  channelToTopic(channel: string): string {
    const at = channel.indexOf(this.#sep);
    const body = at < 0 ? channel : `${channel.slice(0, at)}/${channel.slice(at + this.#sep.length)}`;
    return this.#prefix + body;
  }
}

/** True when a subscription filter uses MQTT wildcards. */
export function isWildcardFilter(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}
