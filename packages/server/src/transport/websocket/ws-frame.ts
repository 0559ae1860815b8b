import type { Codec } from '@tidings/protocol';
import type { SharedFrameBuilder } from '../../core/encoded-push.js';

/**
 * The header of an unmasked, final, server-to-client WebSocket frame (RFC 6455 §5.2) carrying
 * `length` payload bytes, written into `out` at 0; returns the header size (2, 4 or 10).
 */
export function writeFrameHeader(out: Uint8Array, opcode: number, rsv1: boolean, length: number): number {
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (length < 126) {
    out[1] = length;
    return 2;
  }
  if (length < 65_536) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  // Payloads stay far below 2^32 (maxQueueBytes); the high word is zero.
  out[2] = out[3] = out[4] = out[5] = 0;
  out[6] = (length >>> 24) & 0xff;
  out[7] = (length >>> 16) & 0xff;
  out[8] = (length >>> 8) & 0xff;
  out[9] = length & 0xff;
  return 10;
}

/** `payload` as one complete frame (header + payload) in a new buffer. */
export function buildFrame(payload: Uint8Array, opcode: number, rsv1: boolean): Uint8Array {
  const header = payload.length < 126 ? 2 : payload.length < 65_536 ? 4 : 10;
  const out = new Uint8Array(header + payload.length);
  writeFrameHeader(out, opcode, rsv1, payload.length);
  out.set(payload, header);
  return out;
}

/** Text frames for text codecs, binary frames for binary ones, uncompressed. */
export const plainFrameBuilder: SharedFrameBuilder = {
  build(unit: Uint8Array, codec: Codec): Uint8Array {
    return buildFrame(unit, codec.binary ? 0x2 : 0x1, false);
  },
};
