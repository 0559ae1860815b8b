// WebSocket framing (RFC 6455 §5) for the bench's own client (raw-ws.ts): a parser of the frames a
// server sends and an encoder of the masked frames a client sends. Hand-written rather than the
// `ws` package's Receiver/Sender for the reason given in raw-ws.ts: the load generator must cost
// less per frame than the servers it measures. For the bench only, never the server.
//
// Not checked, on purpose: UTF-8 validity of text messages (the bench only scans bytes) and the
// close reason's encoding.
import { randomFillSync } from 'node:crypto';

/** Largest message (a frame, or the fragments of one message together) the parser accepts. */
export const maxMessageBytes = 16 * 1024 * 1024;

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Stable codes of {@link RawWsError}. */
export type RawWsErrorCode =
  | 'WS_URL'
  | 'WS_SOCKET'
  | 'WS_HANDSHAKE'
  | 'WS_BAD_STATUS'
  | 'WS_BAD_ACCEPT'
  | 'WS_BAD_PROTOCOL'
  | 'WS_RESERVED_BITS'
  | 'WS_MASKED_FRAME'
  | 'WS_BAD_OPCODE'
  | 'WS_BAD_CONTROL'
  | 'WS_BAD_CONTINUATION'
  | 'WS_TOO_LARGE';

/** A failure of the bench WebSocket client: the connection is ended when one is reported. */
export class RawWsError extends Error {
  readonly code: RawWsErrorCode;
  constructor(code: RawWsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RawWsError';
    this.code = code;
  }
}

/** What the parser reports; every Buffer is only valid during the call (it may be the read buffer). */
export interface FrameSink {
  /** A complete text or binary message (a single frame, or its fragments joined). */
  message(data: Buffer, binary: boolean): void;
  /** A ping; the client answers with a pong carrying the same payload. */
  ping(payload: Buffer): void;
  /** A close frame: its status code (1005 when it held none) and reason bytes. The parser stops. */
  close(code: number, reason: Buffer): void;
  /** A protocol violation; the parser stops. */
  error(error: RawWsError): void;
}

const empty = Buffer.alloc(0);
/** Carry buffers up to this size are kept for the next partial frame; larger ones are dropped. */
const keptCarryBytes = 4096;

/**
 * Incremental parser of server-to-client frames: `push` every chunk read from the socket, in
 * order. Chunks may hold many frames or part of one; a partial frame is copied out before `push`
 * returns, so the caller may reuse the chunk's memory at once.
 */
export class FrameParser {
  readonly #sink: FrameSink;
  #stopped = false;
  /** Bytes of a frame that did not fit in the previous chunk(s): `#carry[0, #carryLength)`. */
  #carry: Buffer = empty;
  #carryLength = 0;
  /** Fragments of a message in progress (opcode of its first frame, copies of the payloads). */
  #fragmentOpcode = -1;
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  /** Whether the parser stopped (close frame, error, or `stop()`); it ignores further input. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Ignores any further input (the connection is going away). */
  stop(): void {
    this.#stopped = true;
    this.#carry = empty;
    this.#fragments = [];
  }

  /** Parses `chunk[start, end)`. */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let at = start;
    if (this.#carryLength > 0) {
      at = this.#fillCarry(chunk, at, end);
      if (at < 0) return;
    }
    while (at < end && !this.#stopped) {
      const size = this.#frameSize(chunk, at, end);
      if (size < 0) {
        if (size === -2) return;
        this.#keep(chunk, at, end, 14);
        return;
      }
      if (at + size > end) {
        this.#keep(chunk, at, end, size);
        return;
      }
      this.#frame(chunk, at, at + size);
      at += size;
    }
  }

  /**
   * Completes the carried partial frame from `chunk[at, end)`; returns where the rest of the
   * chunk starts, or -1 when the chunk was used up (or the parser stopped).
   */
  #fillCarry(chunk: Buffer, at: number, end: number): number {
    for (;;) {
      const size = this.#frameSize(this.#carry, 0, this.#carryLength);
      if (size === -2) return -1;
      // Header still incomplete: take only up to the longest header (14 bytes) before knowing the size.
      const target = size < 0 ? headerBytes(this.#carry, this.#carryLength) : size;
      this.#grow(target);
      const take = Math.min(target - this.#carryLength, end - at);
      chunk.copy(this.#carry, this.#carryLength, at, at + take);
      this.#carryLength += take;
      at += take;
      if (this.#carryLength < target) return -1;
      if (size < 0) continue;
      const frame = this.#carry;
      this.#carryLength = 0;
      if (frame.length > keptCarryBytes) this.#carry = empty;
      this.#frame(frame, 0, size);
      return this.#stopped ? -1 : at;
    }
  }

  /** Copies the partial frame `chunk[at, end)` out, in a carry sized for `size` bytes. */
  #keep(chunk: Buffer, at: number, end: number, size: number): void {
    this.#grow(Math.max(size, end - at));
    chunk.copy(this.#carry, 0, at, end);
    this.#carryLength = end - at;
  }

  #grow(bytes: number): void {
    if (this.#carry.length >= bytes) return;
    const next = Buffer.allocUnsafe(Math.max(bytes, 256));
    this.#carry.copy(next, 0, 0, this.#carryLength);
    this.#carry = next;
  }

  /**
   * Total bytes (header + payload) of the frame starting at `buf[at]`, -1 when `buf[at, end)`
   * does not hold its whole header yet, -2 when the header is invalid (reported, parser stopped).
   */
  #frameSize(buf: Buffer, at: number, end: number): number {
    if (end - at < 2) return -1;
    const b1 = buf[at + 1]!;
    if ((b1 & 0x80) !== 0) return this.#fail('WS_MASKED_FRAME', 'the server sent a masked frame (RFC 6455 §5.1)');
    const len7 = b1 & 0x7f;
    if (len7 < 126) return 2 + len7;
    if (len7 === 126) return end - at < 4 ? -1 : 4 + buf.readUInt16BE(at + 2);
    if (end - at < 10) return -1;
    const high = buf.readUInt32BE(at + 2);
    const low = buf.readUInt32BE(at + 6);
    if (high !== 0 || low > maxMessageBytes) {
      return this.#fail('WS_TOO_LARGE', `a frame of ${high * 2 ** 32 + low} bytes exceeds ${maxMessageBytes}`);
    }
    return 10 + low;
  }

  /** Handles the complete frame `buf[at, end)`. */
  #frame(buf: Buffer, at: number, end: number): void {
    const b0 = buf[at]!;
    const len7 = buf[at + 1]! & 0x7f;
    const payload = buf.subarray(at + (len7 < 126 ? 2 : len7 === 126 ? 4 : 10), end);
    if ((b0 & 0x70) !== 0) {
      this.#fail('WS_RESERVED_BITS', `reserved bits 0x${(b0 & 0x70).toString(16)} set without an extension`);
      return;
    }
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (opcode >= 0x8) {
      this.#control(opcode, fin, payload);
      return;
    }
    if (payload.length > maxMessageBytes) {
      this.#fail('WS_TOO_LARGE', `a frame of ${payload.length} bytes exceeds ${maxMessageBytes}`);
      return;
    }
    if (opcode === Opcode.continuation) {
      if (this.#fragmentOpcode < 0) {
        this.#fail('WS_BAD_CONTINUATION', 'a continuation frame without a message in progress');
        return;
      }
      this.#fragmentBytes += payload.length;
      if (this.#fragmentBytes > maxMessageBytes) {
        this.#fail('WS_TOO_LARGE', `a fragmented message of over ${maxMessageBytes} bytes`);
        return;
      }
      this.#fragments.push(Buffer.from(payload));
      if (!fin) return;
      const whole = Buffer.concat(this.#fragments, this.#fragmentBytes);
      const binary = this.#fragmentOpcode === Opcode.binary;
      this.#fragmentOpcode = -1;
      this.#fragments = [];
      this.#fragmentBytes = 0;
      this.#sink.message(whole, binary);
      return;
    }
    if (opcode !== Opcode.text && opcode !== Opcode.binary) {
      this.#fail('WS_BAD_OPCODE', `unknown opcode 0x${opcode.toString(16)}`);
      return;
    }
    if (this.#fragmentOpcode >= 0) {
      this.#fail('WS_BAD_CONTINUATION', 'a new message began before the fragmented one ended');
      return;
    }
    if (fin) {
      this.#sink.message(payload, opcode === Opcode.binary);
      return;
    }
    this.#fragmentOpcode = opcode;
    this.#fragments = [Buffer.from(payload)];
    this.#fragmentBytes = payload.length;
  }

  #control(opcode: number, fin: boolean, payload: Buffer): void {
    if (!fin || payload.length > 125) {
      this.#fail('WS_BAD_CONTROL', 'a control frame must be unfragmented and at most 125 bytes (RFC 6455 §5.5)');
      return;
    }
    if (opcode === Opcode.ping) this.#sink.ping(payload);
    else if (opcode === Opcode.close) {
      if (payload.length === 1) {
        this.#fail('WS_BAD_CONTROL', 'a close frame with a 1-byte payload');
        return;
      }
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.stop();
      this.#sink.close(code, payload.subarray(2));
    } else if (opcode !== Opcode.pong) this.#fail('WS_BAD_OPCODE', `unknown control opcode 0x${opcode.toString(16)}`);
  }

  #fail(code: RawWsErrorCode, message: string): -2 {
    this.stop();
    this.#sink.error(new RawWsError(code, message));
    return -2;
  }
}

/** Header length of the frame whose first `length` bytes are in `buf` (at least 2 bytes known). */
function headerBytes(buf: Buffer, length: number): number {
  if (length < 2) return 2;
  const len7 = buf[1]! & 0x7f;
  return len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
}

/** Random bytes for masking keys, refilled in bulk (one randomFillSync per 1,024 frames). */
const maskPool = Buffer.allocUnsafe(4096);
let maskAt = maskPool.length;

/**
 * One masked, unfragmented client frame (RFC 6455 §5.3): a fresh random 4-byte mask per frame,
 * the payload XORed with it into a new Buffer (the payload itself is not modified).
 */
export function encodeClientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 0x10000) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (maskAt === maskPool.length) {
    randomFillSync(maskPool);
    maskAt = 0;
  }
  maskPool.copy(frame, header, maskAt, maskAt + 4);
  maskAt += 4;
  const data = header + 4;
  for (let i = 0; i < length; i++) frame[data + i] = payload[i]! ^ frame[header + (i & 3)]!;
  return frame;
}

/** A close frame's payload: the status code, then the reason's UTF-8 bytes. */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}
