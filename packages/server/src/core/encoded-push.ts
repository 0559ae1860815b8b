import type { Codec, Push } from '@tidings/protocol';

/**
 * A push encoded lazily once per codec and shared by every subscriber using that codec: the
 * fan-out never encodes per subscriber. One instance per publication, never per subscriber.
 */
export class EncodedPush {
  readonly push: Push;
  #codecA: Codec | undefined;
  #unitA: Uint8Array | undefined;
  #codecB: Codec | undefined;
  #unitB: Uint8Array | undefined;

  constructor(push: Push) {
    this.push = push;
  }

  /** The encoded unit for `codec`, encoding it on first use. */
  unitFor(codec: Codec): Uint8Array {
    // Two inline slots cover the built-in codecs without a Map lookup on the hot path.
    if (this.#codecA === codec) return this.#unitA!;
    if (this.#codecB === codec) return this.#unitB!;
    const unit = codec.encodePush(this.push);
    if (this.#codecA === undefined) {
      this.#codecA = codec;
      this.#unitA = unit;
    } else if (this.#codecB === undefined) {
      this.#codecB = codec;
      this.#unitB = unit;
    }
    return unit;
  }
}
