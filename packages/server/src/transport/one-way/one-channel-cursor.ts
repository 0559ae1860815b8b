import { encodeCursor, fromBase64Url, writeVarint } from '@tidings/protocol';

/**
 * `encodeCursor({ [channel]: { epoch, offset } })` for one channel at one epoch, cheaply: the
 * token's bytes up to the offset (version, count, name, epoch) come from `encodeCursor` itself
 * once, so per event only the offset's varint and the base64url are written. Used by a stream
 * that carries one channel, on every event; its output is exactly `encodeCursor`'s (tested).
 */
export class OneChannelCursor {
  readonly epoch: string;
  readonly #bytes: Buffer;
  readonly #prefixLength: number;

  /** Throws BadCursor, as `encodeCursor` does, for an epoch that is not url-safe. */
  constructor(channel: string, epoch: string) {
    this.epoch = epoch;
    // A one-entry cursor ends with its offset; offset 0 is the one varint byte 0.
    const token = fromBase64Url(encodeCursor({ [channel]: { epoch, offset: 0 } })) ?? new Uint8Array(1);
    this.#prefixLength = token.length - 1;
    // Room for the longest varint of a safe integer (8 bytes).
    this.#bytes = Buffer.alloc(this.#prefixLength + 8);
    this.#bytes.set(token.subarray(0, this.#prefixLength));
  }

  /** The cursor at `offset`; falls back to `encodeCursor` (and its checks) for an unsafe offset. */
  at(channel: string, offset: number): string {
    if (!Number.isSafeInteger(offset) || offset < 0) return encodeCursor({ [channel]: { epoch: this.epoch, offset } });
    const end = writeVarint(this.#bytes, this.#prefixLength, offset);
    return this.#bytes.toString('base64url', 0, end);
  }
}
