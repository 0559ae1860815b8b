import type { Codec, Push } from '@tidings/protocol';

/**
 * Wraps a codec unit into one complete transport message (e.g. a WebSocket frame: header +
 * payload). Implemented by a transport as one module-level object, never per subscriber: its
 * identity keys the cache in `EncodedPush.frameFor`. `build` must be pure: its result is shared
 * by every subscriber of the publication and must not be mutated. `variant` is the
 * `frameFor` argument of that name ("" when not given): a message that also depends on state
 * many subscribers share (e.g. the channel's epoch in a one-way event) is built once per value.
 */
export interface SharedFrameBuilder {
  build(unit: Uint8Array, codec: Codec, variant: string): Uint8Array;
}

/**
 * A push encoded lazily once per codec and shared by every subscriber using that codec: the
 * fan-out never encodes per subscriber. One instance per publication, never per subscriber.
 * Transports may also cache a prebuilt message per (codec, builder) with `frameFor`.
 */
export class EncodedPush {
  readonly push: Push;
  #codecA: Codec | undefined;
  #unitA: Uint8Array | undefined;
  #codecB: Codec | undefined;
  #unitB: Uint8Array | undefined;
  // Flat quads [codec, builder, variant, frame, ...]: a publication rarely meets more than two.
  #frames: Array<Codec | SharedFrameBuilder | string | Uint8Array> | undefined;

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

  /**
   * `builder.build(unitFor(codec), codec, variant)`, built on first use for that
   * (codec, builder, variant) and shared afterwards.
   */
  frameFor(codec: Codec, builder: SharedFrameBuilder, variant = ''): Uint8Array {
    let frames = this.#frames;
    if (frames === undefined) {
      frames = [];
      this.#frames = frames;
    } else {
      for (let i = 0; i < frames.length; i += 4) {
        if (frames[i] === codec && frames[i + 1] === builder && frames[i + 2] === variant) {
          return frames[i + 3] as Uint8Array;
        }
      }
    }
    const frame = builder.build(this.unitFor(codec), codec, variant);
    frames.push(codec, builder, variant, frame);
    return frame;
  }
}
