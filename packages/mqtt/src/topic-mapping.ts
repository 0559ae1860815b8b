/** Why a topic could not be mapped to a channel. */
export type TopicRefusal =
  | 'empty'
  | 'nul'
  | 'wildcard'
  | 'reserved'
  | 'prefix'
  | 'separator'
  | 'unsupported'
  | 'length';

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

  get namespaceSeparator(): string {
    return this.#sep;
  }

  get topicPrefix(): string {
    return this.#prefix;
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

/** A wildcard filter as channel levels (see `channelLevels` in @tidings/server), or why it is refused. */
export type FilterMapResult =
  | { readonly ok: true; readonly levels: readonly string[] }
  | { readonly ok: false; readonly reason: TopicRefusal };

/**
 * Maps a wildcard filter to the channel levels the node's pattern index matches: the topic
 * prefix (when configured) must appear literally, then the levels are the topic's levels, the
 * first one being the namespace. Refused: NUL, `+`/`#` inside a level or `#` before the last
 * level, a leading `$`, an empty or separator-containing first level, more than `maxLength`
 * characters, and any wildcard when the namespace separator is not `:` (the node's channel
 * levels split at `:`).
 */
export function filterToLevels(mapping: TopicMapping, filter: string, maxLength: number): FilterMapResult {
  const sep = mapping.namespaceSeparator;
  const prefix = mapping.topicPrefix;
  if (sep !== ':') return { ok: false, reason: 'unsupported' };
  if (filter.length === 0) return { ok: false, reason: 'empty' };
  if (filter.includes('\u0000')) return { ok: false, reason: 'nul' };
  if (filter.startsWith('$')) return { ok: false, reason: 'reserved' };
  if (!filter.startsWith(prefix)) return { ok: false, reason: 'prefix' };
  const rest = filter.slice(prefix.length);
  if (rest.length === 0) return { ok: false, reason: 'empty' };
  if (rest.length > maxLength) return { ok: false, reason: 'length' };
  const levels = rest.split('/');
  const first = levels[0] as string;
  if (first === '') return { ok: false, reason: 'empty' };
  if (first.includes(sep)) return { ok: false, reason: 'separator' };
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '#' ? i !== levels.length - 1 : level !== '+' && (level.includes('+') || level.includes('#'))) {
      return { ok: false, reason: 'wildcard' };
    }
  }
  return { ok: true, levels };
}

/** True when a subscription filter uses MQTT wildcards. */
export function isWildcardFilter(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}
