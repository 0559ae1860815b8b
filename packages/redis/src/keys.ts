import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** Key prefix when none is configured. */
export const DEFAULT_KEY_PREFIX = 'tidings:';

/**
 * The Redis key layout of one engine. Every key (and pub/sub channel) of a Tidings channel
 * `ch` starts with `<prefix>{ch}`: the braces make it a Redis Cluster hash tag, so all keys a
 * publish script touches, and the channel's (sharded) pub/sub channel, live in one slot. A
 * channel that is empty or starts with `}` or `%` is written `<prefix>{%ch}` instead: Redis
 * hashes a key whose tag would be empty (`{}`) as a whole, which would scatter that channel's
 * keys over several slots; the `%` keeps the mapping one-to-one.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>{ch}:m` | hash | stream meta: `s` top offset, `e` epoch |
 * | `<prefix>{ch}:h` | stream | history; entry id `<offset>-0`, fields `t` time, `b` body |
 * | `<prefix>{ch}:i:<key>` | string | idempotency result `<offset>:<epoch>` |
 * | `<prefix>{ch}:p` | hash | presence: clientId → encoded info |
 * | `<prefix>{ch}:z` | zset | presence: clientId scored by expiry time (ms) |
 * | `<prefix>{ch}:c` | pub/sub channel | publications, joins and leaves |
 * | `<prefix>{ch}:s` | hash | state channel: key → `<offset>\n<epoch>\n<time>\n<document>` |
 * | `<prefix>{%rl}:<scope>:<window>` | hash | shared rate-limit counts of one window: key → count |
 *
 * `{%rl}` is no channel's tag (an escaped channel's tag starts with `%%`, `%}` or is `%`).
 */
export class KeySpace {
  readonly prefix: string;

  /** Throws `TIDINGS_ERR_CONFIG` when `prefix` contains a brace (it would break the hash tag). */
  constructor(prefix: string = DEFAULT_KEY_PREFIX) {
    if (/[{}]/.test(prefix)) {
      throw new TidingsError(TidingsErrorCode.Config, `redis.prefix: must not contain "{" or "}" (got "${prefix}")`);
    }
    this.prefix = prefix;
  }

  meta(channel: string): string {
    return `${this.#base(channel)}:m`;
  }

  history(channel: string): string {
    return `${this.#base(channel)}:h`;
  }

  idempotency(channel: string, key: string): string {
    return `${this.#base(channel)}:i:${key}`;
  }

  presenceInfo(channel: string): string {
    return `${this.#base(channel)}:p`;
  }

  presenceExpiry(channel: string): string {
    return `${this.#base(channel)}:z`;
  }

  state(channel: string): string {
    return `${this.#base(channel)}:s`;
  }

  pubsub(channel: string): string {
    return `${this.#base(channel)}:c`;
  }

  /** A PSUBSCRIBE glob matching the pub/sub channel of every channel starting with `literal`. */
  pubsubPattern(literal: string): string {
    return `${this.#basePattern(literal)}*`;
  }

  /** A SCAN MATCH glob matching the meta key of every channel starting with `literal`. */
  metaPattern(literal: string): string {
    return `${this.#basePattern(literal)}*}:m`;
  }

  /** The channel of a pub/sub channel name of this key space, or undefined. */
  channelOfPubsub(name: string): string | undefined {
    return this.#channelOf(name, ':c');
  }

  /** The channel of a meta key of this key space, or undefined. */
  channelOfMeta(key: string): string | undefined {
    return this.#channelOf(key, ':m');
  }

  /** The shared rate-limit counts of `scope` in window `windowId` (one slot for all of them). */
  rateWindow(scope: string, windowId: number): string {
    return `${this.prefix}{%rl}:${scope}:${windowId}`;
  }

  #basePattern(literal: string): string {
    // An empty literal must match escaped channels (`{%…`) too, so it adds nothing after `{`.
    const escaped = literal !== '' && (literal[0] === '}' || literal[0] === '%');
    return `${globEscape(this.prefix)}{${escaped ? '%' : ''}${globEscape(literal)}`;
  }

  #channelOf(name: string, suffix: string): string | undefined {
    const head = `${this.prefix}{`;
    const tail = `}${suffix}`;
    if (!name.startsWith(head) || !name.endsWith(tail) || name.length < head.length + tail.length) return undefined;
    const inner = name.slice(head.length, name.length - tail.length);
    return inner.startsWith('%') ? inner.slice(1) : inner;
  }

  #base(channel: string): string {
    const escaped = channel === '' || channel[0] === '}' || channel[0] === '%';
    return `${this.prefix}{${escaped ? '%' : ''}${channel}}`;
  }
}

/** Escapes Redis glob metacharacters (`*`, `?`, `[`, `]`, `\\`) so they match literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
