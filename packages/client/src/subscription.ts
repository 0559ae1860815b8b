import type { Publication, SubscribeResult } from '@tidings/protocol';
import { ChannelStream } from './channel-stream.js';
import { Emitter } from './emitter.js';
import { parsedData } from './light-json-codec.js';
import {
  nextSubscriptionState,
  type SubscriptionInput,
  type SubscriptionReason,
  type SubscriptionState,
} from './subscription-machine.js';

/** A publication as the application receives it. */
export interface ClientPublication {
  readonly channel: string;
  /** Offset in the channel's stream (absent for channels without history). */
  readonly offset: number | undefined;
  /** The payload parsed as JSON (the raw text when it is not JSON). */
  readonly data: unknown;
  /** The raw payload bytes. */
  readonly bytes: Uint8Array;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/** Publications may be missing before this point: reload the channel's state, then continue. */
export interface Discontinuity {
  readonly channel: string;
  /** `epoch_changed`: the stream was reset; `not_recovered`: the position was outside history. */
  readonly reason: 'epoch_changed' | 'not_recovered';
  readonly epoch: string | undefined;
  readonly offset: number | undefined;
}

/** Events of a {@link Subscription}. */
export interface SubscriptionEvents {
  [key: string]: unknown;
  publication: ClientPublication;
  state: {
    readonly state: SubscriptionState;
    readonly previous: SubscriptionState;
    readonly reason: SubscriptionReason;
  };
  discontinuity: Discontinuity;
  error: { readonly code: number; readonly message: string };
}

const decoder = new TextDecoder();

function parseData(bytes: Uint8Array): unknown {
  const text = decoder.decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One channel subscription. Delivers publications to `publication` listeners strictly in offset
 * order, once each, across reconnects and recoveries; a gap it cannot fill surfaces as
 * `discontinuity`. Created by `TidingsClient.subscribe`.
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly channel: string;
  readonly #stream = new ChannelStream();
  #state: SubscriptionState = 'unsubscribed';
  /** Pushes that arrived while a subscribe command was in flight; merged after its reply. */
  #buffer: Publication[] = [];
  /** Subscription token callback, if the channel needs one. */
  readonly getToken: ((channel: string) => Promise<string>) | undefined;

  constructor(channel: string, getToken?: (channel: string) => Promise<string>) {
    super();
    this.channel = channel;
    this.getToken = getToken;
  }

  /** Current state. */
  get state(): SubscriptionState {
    return this.#state;
  }

  /** The position after the last delivered publication, sent as the recovery point on resubscribe. */
  get position(): { readonly epoch: string; readonly offset: number } | undefined {
    return this.#stream.position;
  }

  /** @internal Applies an input of the transition table; returns whether the state changed. */
  move(input: SubscriptionInput, reason: SubscriptionReason): boolean {
    const next = nextSubscriptionState(this.#state, input);
    if (next === undefined) return false;
    const previous = this.#state;
    this.#state = next;
    if (next === 'subscribing') this.#buffer = [];
    if (previous !== next || input === 'subscribe') this.emit('state', { state: next, previous, reason });
    return true;
  }

  /**
   * @internal The server's subscribe reply: recovered publications first, then the pushes that
   * arrived meanwhile, all through the offset filter; then the position is the reply's top.
   */
  applySubscribed(result: SubscribeResult): 'ok' | 'gap' {
    const before = this.#stream.position;
    if (before !== undefined && result.recovered !== true) {
      this.emit('discontinuity', {
        channel: this.channel,
        reason: result.epoch !== undefined && result.epoch !== before.epoch ? 'epoch_changed' : 'not_recovered',
        epoch: result.epoch,
        offset: result.offset,
      });
      this.#stream.reset(result.epoch, result.offset);
    } else if (before === undefined) {
      this.#stream.reset(
        result.epoch,
        result.offset === undefined ? undefined : result.offset - (result.publications?.length ?? 0),
      );
    }
    this.move('subscribed', 'subscribe_reply');
    const pending = [...(result.publications ?? []), ...this.#buffer];
    this.#buffer = [];
    for (const pub of pending) if (this.deliver(pub) === 'gap') return 'gap';
    if (result.offset !== undefined && (this.#stream.position?.offset ?? 0) < result.offset) {
      // The reply's top is ahead of what recovery returned: publications were lost in between.
      return 'gap';
    }
    return 'ok';
  }

  /** @internal A live publication push; buffered while subscribing. */
  deliver(pub: Publication): 'ok' | 'gap' {
    if (this.#state === 'subscribing') {
      this.#buffer.push(pub);
      return 'ok';
    }
    if (this.#state !== 'subscribed') return 'ok';
    const verdict = this.#stream.accept(pub.offset);
    if (verdict === 'gap') return 'gap';
    if (verdict === 'duplicate') return 'ok';
    this.emit('publication', {
      channel: this.channel,
      offset: pub.offset,
      data: parsedData in pub ? (pub as { [parsedData]: unknown })[parsedData] : parseData(pub.data),
      get bytes() {
        return pub.data;
      },
      tags: pub.tags,
    });
    return 'ok';
  }
}
