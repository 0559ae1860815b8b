import { createHash } from 'node:crypto';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** Default stream name; the other streams are `<name>_PRESENCE` and `<name>_IDEMPOTENCY`. */
export const DEFAULT_STREAM_NAME = 'TIDINGS';
/** Default subject prefix of every subject the engine uses. */
export const DEFAULT_SUBJECT_PREFIX = 'tidings';

const STREAM_NAME = /^[A-Za-z0-9_-]{1,200}$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Names of the streams and subjects of one engine. A channel becomes one subject token, the
 * base64url of its UTF-8 name, because channel names may contain `.`, `*`, `>` or spaces, which
 * NATS subjects reserve; base64url uses only characters valid in a token.
 */
export class NatsNames {
  readonly stream: string;
  readonly presenceStream: string;
  readonly idempotencyStream: string;
  /** Latest documents of state channels: one message per (channel, key), one per channel's expiry marker. */
  readonly stateStream: string;
  readonly prefix: string;

  /** Throws `TIDINGS_ERR_CONFIG` for a stream name or subject prefix NATS would reject. */
  constructor(streamName: string = DEFAULT_STREAM_NAME, subjectPrefix: string = DEFAULT_SUBJECT_PREFIX) {
    if (!STREAM_NAME.test(streamName))
      throw new TidingsError(TidingsErrorCode.Config, `nats.streamName: "${streamName}" is not a valid stream name`);
    if (!SUBJECT_PREFIX.test(subjectPrefix))
      throw new TidingsError(TidingsErrorCode.Config, `nats.subjectPrefix: "${subjectPrefix}" is not a valid prefix`);
    this.stream = streamName;
    this.presenceStream = `${streamName}_PRESENCE`;
    this.idempotencyStream = `${streamName}_IDEMPOTENCY`;
    this.stateStream = `${streamName}_STATE`;
    this.prefix = subjectPrefix;
  }

  /** Every history subject: the history stream's only subject filter. */
  get historyWildcard(): string {
    return `${this.prefix}.h.>`;
  }

  /** Every presence subject: the presence stream's only subject filter. */
  get presenceWildcard(): string {
    return `${this.prefix}.p.>`;
  }

  /** The stream subject holding a channel's publications (and its top marker). */
  history(channel: string): string {
    return `${this.prefix}.h.${token(channel)}`;
  }

  /** Every state subject: the state stream's only subject filters. */
  get stateWildcards(): string[] {
    return [`${this.prefix}.s.>`, `${this.prefix}.sm.>`];
  }

  /** The subject of one key's document in a state channel (one message kept per subject). */
  state(channel: string, key: string): string {
    return `${this.prefix}.s.${token(channel)}.${token(key)}`;
  }

  /** Every key subject of a state channel. */
  stateOf(channel: string): string {
    return `${this.prefix}.s.${token(channel)}.*`;
  }

  /** A state channel's marker of its last write, carrying its TTL (only written when it has one). */
  stateMeta(channel: string): string {
    return `${this.prefix}.sm.${token(channel)}`;
  }

  /** The key of a state subject made by `state()`. */
  stateKeyOf(subject: string): string {
    return untoken(subject.slice(subject.lastIndexOf('.') + 1));
  }

  /** Every idempotency subject: the idempotency stream's only subject filter. */
  get idempotencyWildcard(): string {
    return `${this.prefix}.i.>`;
  }

  /** The subject remembering the position assigned to one `Nats-Msg-Id`. */
  idempotency(msgId: string): string {
    return `${this.prefix}.i.${msgId}`;
  }

  /** Where the stream republishes what it stored on history subjects (`republish.dest`). */
  get deliveryWildcard(): string {
    return `${this.prefix}.r.>`;
  }

  /** The core NATS subject on which the stream republishes a channel's stored messages. */
  delivery(channel: string): string {
    return `${this.prefix}.r.${token(channel)}`;
  }

  /** The channel of a republished delivery subject (`delivery(channel)`), or undefined. */
  channelOfDelivery(subject: string): string | undefined {
    return channelOf(subject, `${this.prefix}.r.`);
  }

  /** The channel of a history subject (`history(channel)`), or undefined. */
  channelOfHistory(subject: string): string | undefined {
    return channelOf(subject, `${this.prefix}.h.`);
  }

  /** The core NATS subject carrying a channel's joins and leaves. */
  events(channel: string): string {
    return `${this.prefix}.e.${token(channel)}`;
  }

  /** The core NATS subject on which nodes exchange their rate-limit counts (`NatsRateCounter`). */
  get rateCounts(): string {
    return `${this.prefix}.rl`;
  }

  /** The presence subject of one client in one channel (one message kept per subject). */
  presence(channel: string, clientId: string): string {
    return `${this.prefix}.p.${token(channel)}.${token(clientId)}`;
  }

  /** Every presence subject of a channel. */
  presenceOf(channel: string): string {
    return `${this.prefix}.p.${token(channel)}.*`;
  }

  /**
   * The `Nats-Msg-Id` of an idempotency key. The dedupe window is stream-wide, so the id names
   * the channel too; hashed to keep headers short whatever the key length.
   */
  msgId(channel: string, key: string): string {
    return createHash('sha256').update(channel).update('\0').update(key).digest('base64url');
  }
}

function token(text: string): string {
  // An empty name would make an empty token, which NATS rejects.
  return text.length === 0 ? '_' : Buffer.from(text, 'utf8').toString('base64url');
}

function channelOf(subject: string, head: string): string | undefined {
  if (!subject.startsWith(head)) return undefined;
  const t = subject.slice(head.length);
  if (t.length === 0 || t.includes('.')) return undefined;
  return t === '_' ? '' : Buffer.from(t, 'base64url').toString('utf8');
}

function untoken(t: string): string {
  return t === '_' ? '' : Buffer.from(t, 'base64url').toString('utf8');
}
