import { deflateRawSync, constants as zlibConstants } from 'node:zlib';
import { allocateBytes, type Codec } from '@tidings/protocol';
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
  const out = allocateBytes(header + payload.length);
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

/** ws's default `threshold`: smaller messages are not worth compressing and go out plain. */
export const deflateThresholdBytes = 1024;

/**
 * permessage-deflate frames shared by every connection that negotiated
 * `server_no_context_takeover` with the default 15-bit window (RFC 7692 §7.1.1.1, §7.1.2.1):
 * without context takeover a compressed message depends on its payload only, so one compressed
 * frame per publication fits all of them. The payload is deflated with a sync flush and its
 * trailing 00 00 FF FF removed (§7.2.1), exactly as ws does, and sent with RSV1 set. Below
 * `deflateThresholdBytes` the frame is sent uncompressed (RSV1 clear), as ws would.
 */
export const deflateFrameBuilder: SharedFrameBuilder = {
  build(unit: Uint8Array, codec: Codec): Uint8Array {
    const opcode = codec.binary ? 0x2 : 0x1;
    if (unit.length < deflateThresholdBytes) return buildFrame(unit, opcode, false);
    const deflated = deflateRawSync(unit, { finishFlush: zlibConstants.Z_SYNC_FLUSH, windowBits: 15 });
    return buildFrame(deflated.subarray(0, deflated.length - 4), opcode, true);
  },
};
