import type { Codec, Publication, Push } from '@tidings/protocol';
import { createDelta } from 'fossil-delta';
import type { StreamPublication } from '../broker/types.js';
import type { Clock } from '../internal/clock.js';
import { createMergePatch, type JsonValue } from '../internal/merge-patch.js';
import type { SlowConsumerPolicy } from './channel-options.js';
import { Conflator, type ConflatorSink } from './conflator.js';
import type { EncodedPush } from './encoded-push.js';
import { stateKeyOf } from './state-channel.js';

/** Tag of the gap marker a `skip` subscriber gets: the number of publications it missed. */
export const gapTag = 'gap';

/** What a gate writes to: the subscriber's session. */
export interface GateOutput {
  readonly codec: Codec;
  /** Bytes waiting to leave (queue plus transport buffer). */
  readonly queuedBytes: number;
  enqueueShared(encoded: EncodedPush): void;
  sendPush(push: Push): void;
}

/** How one subscription's live publications leave. */
export interface GateOptions {
  /** Shortest time between two sends per key (1000 / rate); 0 = no cap. */
  readonly intervalMs: number;
  readonly slowConsumer: SlowConsumerPolicy;
  /** Queue bytes beyond which the subscriber counts as slow (`conflate`, `skip`). */
  readonly slowBytes: number;
  /**
   * Delta compression: `fossil` (Centrifuge `delta: fossil`, against the last document sent on
   * the channel) or `merge-patch` (one-way `?delta=merge-patch`, RFC 7396 against the last
   * document sent for the same key); undefined: whole documents.
   */
  readonly delta: DeltaKind | undefined;
}

/** A delta encoding a subscription may use. */
export type DeltaKind = 'fossil' | 'merge-patch';

interface Held {
  readonly pub: StreamPublication;
  readonly encoded: EncodedPush | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Sits between a subscription and its session for subscriptions that need more than the shared
 * fan-out: a max rate (conflation per key), a `conflate` or `skip` slow-consumer policy, or delta
 * compression against what this subscriber was last sent.
 *
 * Contract: publications leave in offset order; under a rate or while slow only the
 * latest per key is kept (Conflator). `skip` drops while slow and, before the next publication it
 * lets through, sends a gap marker (data `null`, tag `gap: <dropped count>`): never a silent
 * skip. With `fossil`, each publication is a fossil delta against the previous document sent
 * to this subscriber, or the whole document when that is not smaller; on the JSON codec the
 * payload is a JSON string, as the Centrifuge SDKs expect once delta is negotiated. With
 * `merge-patch`, a publication whose key was sent before is an RFC 7396 merge patch against
 * that document (`delta: true`) when one exists and is smaller, else the whole document.
 */
export class DeliveryGate implements ConflatorSink<Held> {
  readonly #channel: string;
  readonly #out: GateOutput;
  readonly #options: GateOptions;
  readonly #conflator: Conflator<Held> | undefined;
  #skipped = 0;
  /** Fossil: the last document sent (delta base); undefined: the next one goes whole. */
  #last: Uint8Array | undefined;
  /** Merge patch: the last document sent per key. */
  readonly #lastByKey = new Map<string, JsonValue>();
  /** Bytes of payload sent and bytes the whole documents would have taken (delta stats). */
  bytesSent = 0;
  bytesFull = 0;

  constructor(channel: string, out: GateOutput, clock: Clock, options: GateOptions) {
    this.#channel = channel;
    this.#out = out;
    this.#options = options;
    const conflate = options.slowConsumer === 'conflate';
    if (options.intervalMs > 0 || conflate) {
      const slowBytes = options.slowBytes;
      this.#conflator = new Conflator<Held>(
        clock,
        {
          intervalMs: options.intervalMs,
          ...(conflate ? { canSend: () => out.queuedBytes <= slowBytes } : {}),
        },
        this,
      );
    }
  }

  /** True when this subscription needs no gate: the shared fan-out serves it. */
  static needless(options: GateOptions): boolean {
    return options.intervalMs === 0 && options.slowConsumer === 'disconnect' && options.delta === undefined;
  }

  /** Keys held for a later send. */
  get heldCount(): number {
    return this.#conflator?.heldCount ?? 0;
  }

  /** A live publication for this subscription (`encoded` is the shared push when there is one). */
  deliver(pub: StreamPublication, encoded: EncodedPush | undefined): void {
    if (this.#options.slowConsumer === 'skip' && this.#out.queuedBytes > this.#options.slowBytes) {
      this.#skipped++;
      return;
    }
    if (this.#conflator !== undefined) this.#conflator.offer(stateKeyOf(pub.tags), { pub, encoded });
    else this.#send(pub, encoded);
  }

  conflatorSend(items: Held[]): void {
    // Offset order, so a client's position only moves forward (a resume never skips a key).
    if (items.length > 1) items.sort((a, b) => a.pub.offset - b.pub.offset);
    for (const item of items) this.#send(item.pub, item.encoded);
  }

  /**
   * Publications of the subscribe reply (snapshot or recovered), in the form this subscriber
   * needs; the last one becomes the delta base.
   */
  prepareReplyPublications(pubs: readonly Publication[]): Publication[] {
    if (this.#options.delta === 'merge-patch') {
      for (const pub of pubs) {
        const doc = parseDoc(pub.data);
        if (doc !== undefined) this.#lastByKey.set(stateKeyOf(pub.tags), doc);
      }
      return [...pubs];
    }
    if (this.#options.delta !== 'fossil') return [...pubs];
    const out = pubs.map((pub) => ({ ...pub, data: this.#wrap(pub.data) }));
    const last = pubs.at(-1);
    if (last !== undefined) this.#last = last.data;
    return out;
  }

  close(): void {
    this.#conflator?.close();
  }

  #send(pub: StreamPublication, encoded: EncodedPush | undefined): void {
    if (this.#skipped > 0) {
      const dropped = this.#skipped;
      this.#skipped = 0;
      this.#last = undefined;
      this.#lastByKey.clear();
      const data = this.#options.delta === 'fossil' ? this.#wrap(encoder.encode('null')) : encoder.encode('null');
      // At the position just before the publication that follows, so cursors stay contiguous.
      const at = pub.offset - 1;
      this.#out.sendPush({
        channel: this.#channel,
        pub: { data, tags: { [gapTag]: String(dropped) }, ...(at > 0 ? { offset: at } : {}) },
      });
    }
    if (this.#options.delta === undefined) {
      if (encoded !== undefined) this.#out.enqueueShared(encoded);
      else this.#out.sendPush({ channel: this.#channel, pub });
      return;
    }
    if (this.#options.delta === 'merge-patch') {
      this.#sendMergePatch(pub, encoded);
      return;
    }
    const full = pub.data;
    const delta = this.#deltaAgainstLast(full);
    this.#last = full;
    this.bytesFull += full.byteLength;
    const payload = delta ?? full;
    this.bytesSent += payload.byteLength;
    this.#out.sendPush({
      channel: this.#channel,
      pub: { ...pub, data: this.#wrap(payload), ...(delta !== undefined ? { delta: true } : {}) },
    });
  }

  #sendMergePatch(pub: StreamPublication, encoded: EncodedPush | undefined): void {
    const key = stateKeyOf(pub.tags);
    const doc = parseDoc(pub.data);
    const base = this.#lastByKey.get(key);
    this.bytesFull += pub.data.byteLength;
    if (doc === undefined) this.#lastByKey.delete(key);
    else this.#lastByKey.set(key, doc);
    const made = doc === undefined || base === undefined ? undefined : createMergePatch(base, doc);
    const patch = made === undefined ? undefined : encoder.encode(JSON.stringify(made.patch));
    if (patch === undefined || patch.byteLength >= pub.data.byteLength) {
      this.bytesSent += pub.data.byteLength;
      if (encoded !== undefined) this.#out.enqueueShared(encoded);
      else this.#out.sendPush({ channel: this.#channel, pub });
      return;
    }
    this.bytesSent += patch.byteLength;
    this.#out.sendPush({ channel: this.#channel, pub: { ...pub, data: patch, delta: true } });
  }

  #deltaAgainstLast(full: Uint8Array): Uint8Array | undefined {
    const base = this.#last;
    if (base === undefined) return undefined;
    const delta = createDelta(base, full);
    if (delta.byteLength >= full.byteLength) return undefined;
    // On the JSON codec the delta travels as a JSON string: a literal run cut inside a UTF-8
    // sequence would not survive the round trip, so such a delta goes whole instead.
    if (!this.#out.codec.binary && !utf8RoundTrips(delta)) return undefined;
    return delta;
  }

  #wrap(bytes: Uint8Array): Uint8Array {
    if (this.#out.codec.binary) return bytes;
    return encoder.encode(JSON.stringify(decoder.decode(bytes)));
  }
}

function parseDoc(data: Uint8Array): JsonValue | undefined {
  try {
    return JSON.parse(decoder.decode(data)) as JsonValue;
  } catch {
    return undefined;
  }
}

function utf8RoundTrips(bytes: Uint8Array): boolean {
  const again = encoder.encode(decoder.decode(bytes));
  if (again.byteLength !== bytes.byteLength) return false;
  for (let i = 0; i < bytes.byteLength; i++) if (again[i] !== bytes[i]) return false;
  return true;
}
