import { describe, expect, it } from 'vitest';
import {
  closePayload,
  encodeClientFrame,
  FrameParser,
  type FrameSink,
  maxMessageBytes,
  Opcode,
  type RawWsError,
} from './ws-frames.js';

/** An unmasked server frame; `length` overrides the length field (to announce oversize frames). */
function serverFrame(opcode: number, payload: Uint8Array | string, fin = true, length?: number): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const n = length ?? body.length;
  const header = n < 126 ? Buffer.from([0, n]) : n < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 0x10000) {
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else if (n >= 0x10000) {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([header, body]);
}

/** Decodes one masked client frame: opcode, mask and unmasked payload. */
function decodeClientFrame(frame: Buffer): { fin: boolean; opcode: number; mask: Buffer; payload: Buffer } {
  expect(frame[1]! & 0x80).toBe(0x80);
  const len7 = frame[1]! & 0x7f;
  const header = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
  const length = len7 < 126 ? len7 : len7 === 126 ? frame.readUInt16BE(2) : Number(frame.readBigUInt64BE(2));
  const mask = frame.subarray(header, header + 4);
  const payload = Buffer.from(frame.subarray(header + 4));
  expect(payload.length).toBe(length);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, mask: Buffer.from(mask), payload };
}

type Event =
  | { type: 'message'; data: string; binary: boolean }
  | { type: 'ping'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; message: string };

function recorder(): { parser: FrameParser; events: Event[] } {
  const events: Event[] = [];
  const sink: FrameSink = {
    // Copies: the buffers are only valid during the call.
    message: (data, binary) => events.push({ type: 'message', data: data.toString('latin1'), binary }),
    ping: (payload) => events.push({ type: 'ping', data: payload.toString('latin1') }),
    close: (code, reason) => events.push({ type: 'close', code, reason: reason.toString() }),
    error: (error: RawWsError) => events.push({ type: 'error', code: error.code, message: error.message }),
  };
  return { parser: new FrameParser(sink), events };
}

/** Feeds `stream` in pieces cut at `cuts`, each piece in a scratch buffer overwritten after the push. */
function feed(parser: FrameParser, stream: Buffer, cuts: readonly number[]): void {
  const scratch = Buffer.alloc(stream.length + 8);
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    stream.copy(scratch, 3, from, cut);
    parser.push(scratch, 3, 3 + cut - from);
    scratch.fill(0xee); // what the next socket read would do to a shared read buffer
    from = cut;
  }
}

const medium = 'm'.repeat(300); // 16-bit length
const large = Buffer.alloc(70_000, 0x61); // 64-bit length
const stream = Buffer.concat([
  serverFrame(Opcode.text, 'hello'),
  serverFrame(Opcode.binary, Buffer.from([0, 1, 2, 255])),
  serverFrame(Opcode.text, medium),
  serverFrame(Opcode.text, 'frag-', false),
  serverFrame(Opcode.ping, 'p1'),
  serverFrame(Opcode.continuation, 'ment', false),
  serverFrame(Opcode.continuation, 'ed', true),
  serverFrame(Opcode.text, ''),
  serverFrame(Opcode.binary, large),
]);
const expected: Event[] = [
  { type: 'message', data: 'hello', binary: false },
  { type: 'message', data: '\x00\x01\x02\xff', binary: true },
  { type: 'message', data: medium, binary: false },
  { type: 'ping', data: 'p1' },
  { type: 'message', data: 'frag-mented', binary: false },
  { type: 'message', data: '', binary: false },
  { type: 'message', data: large.toString('latin1'), binary: true },
];

describe('FrameParser', () => {
  it('parses many frames in one read: 7-, 16- and 64-bit lengths, a fragmented message, a ping in between', () => {
    const { parser, events } = recorder();
    parser.push(stream);
    expect(events).toEqual(expected);
  });

  it('gives the same messages when the stream is split at any byte boundary (one cut, then two)', () => {
    // Every single cut over the small frames, then cuts around the large frame's header and tail.
    const smallEnd = stream.length - large.length - 10;
    const positions = [...Array.from({ length: smallEnd + 12 }, (_, i) => i + 1), stream.length - 1];
    for (const cut of positions) {
      const { parser, events } = recorder();
      feed(parser, stream, [cut]);
      expect(events, `cut at ${cut}`).toEqual(expected);
    }
    for (let a = 1; a < smallEnd; a += 3) {
      const { parser, events } = recorder();
      feed(parser, stream, [a, Math.min(a + 5, stream.length - 1)]);
      expect(events, `cuts at ${a}, ${a + 5}`).toEqual(expected);
    }
  });

  it('assembles a frame read one byte at a time and one spread over many 1,000-byte reads', () => {
    const small = Buffer.concat([serverFrame(Opcode.text, medium), serverFrame(Opcode.text, 'x')]);
    const one = recorder();
    feed(
      one.parser,
      small,
      Array.from({ length: small.length - 1 }, (_, i) => i + 1),
    );
    expect(one.events).toEqual([
      { type: 'message', data: medium, binary: false },
      { type: 'message', data: 'x', binary: false },
    ]);
    const big = serverFrame(Opcode.binary, large);
    const many = recorder();
    feed(
      many.parser,
      big,
      Array.from({ length: Math.floor((big.length - 1) / 1000) }, (_, i) => (i + 1) * 1000),
    );
    expect(many.events).toEqual([{ type: 'message', data: large.toString('latin1'), binary: true }]);
  });

  it('reports a close frame with its code and reason and ignores what follows', () => {
    const { parser, events } = recorder();
    parser.push(Buffer.concat([serverFrame(Opcode.close, closePayload(4001, 'bye')), serverFrame(Opcode.text, 'x')]));
    expect(events).toEqual([{ type: 'close', code: 4001, reason: 'bye' }]);
    expect(parser.stopped).toBe(true);
  });

  it('reads an empty close frame as 1005 (no status)', () => {
    const { parser, events } = recorder();
    parser.push(serverFrame(Opcode.close, ''));
    expect(events).toEqual([{ type: 'close', code: 1005, reason: '' }]);
  });

  it.each([
    ['a reserved bit', Buffer.from([0x80 | 0x40 | Opcode.text, 1, 0x61]), 'WS_RESERVED_BITS', /reserved bits 0x40/],
    ['a masked server frame', Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61]), 'WS_MASKED_FRAME', /masked frame/],
    ['an unknown opcode', serverFrame(0x3, 'x'), 'WS_BAD_OPCODE', /unknown opcode 0x3/],
    ['an unknown control opcode', serverFrame(0xb, 'x'), 'WS_BAD_OPCODE', /unknown control opcode 0xb/],
    [
      'a continuation without a start',
      serverFrame(Opcode.continuation, 'x'),
      'WS_BAD_CONTINUATION',
      /without a message/,
    ],
    [
      'a new message inside a fragmented one',
      Buffer.concat([serverFrame(Opcode.text, 'a', false), serverFrame(Opcode.text, 'b')]),
      'WS_BAD_CONTINUATION',
      /before the fragmented one ended/,
    ],
    ['a fragmented ping', serverFrame(Opcode.ping, 'x', false), 'WS_BAD_CONTROL', /unfragmented/],
    ['a ping of 126 bytes', serverFrame(Opcode.ping, 'x'.repeat(126)), 'WS_BAD_CONTROL', /at most 125 bytes/],
    ['a 1-byte close payload', serverFrame(Opcode.close, 'x'), 'WS_BAD_CONTROL', /1-byte payload/],
    [
      'a frame over 16 MiB (64-bit length)',
      serverFrame(Opcode.binary, '', true, maxMessageBytes + 1).subarray(0, 10),
      'WS_TOO_LARGE',
      /16777217 bytes exceeds 16777216/,
    ],
    [
      'a 64-bit length with the high word set',
      Buffer.from([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]),
      'WS_TOO_LARGE',
      /4294967296 bytes exceeds/,
    ],
  ] as const)('rejects %s, then ignores its input', (_, bytes, code, message) => {
    const { parser, events } = recorder();
    parser.push(Buffer.concat([bytes, serverFrame(Opcode.text, 'after')]));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', code });
    expect((events[0] as { message: string }).message).toMatch(message);
    expect(parser.stopped).toBe(true);
  });

  it('rejects a fragmented message that grows over 16 MiB', () => {
    const { parser, events } = recorder();
    const chunk = Buffer.alloc(6 * 1024 * 1024);
    parser.push(serverFrame(Opcode.binary, chunk, false));
    parser.push(serverFrame(Opcode.continuation, chunk, false));
    expect(events).toEqual([]);
    parser.push(serverFrame(Opcode.continuation, chunk, true));
    expect(events).toMatchObject([{ type: 'error', code: 'WS_TOO_LARGE' }]);
  });
});

describe('encodeClientFrame', () => {
  it.each([0, 5, 125, 126, 300, 65_535, 65_536, 70_000])('masks a %i-byte payload, the length field fitting', (n) => {
    const payload = Buffer.alloc(n);
    for (let i = 0; i < n; i++) payload[i] = i & 0xff;
    const copy = Buffer.from(payload);
    const frame = encodeClientFrame(Opcode.binary, payload);
    const decoded = decodeClientFrame(frame);
    expect(decoded.fin).toBe(true);
    expect(decoded.opcode).toBe(Opcode.binary);
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(payload.equals(copy)).toBe(true); // the caller's bytes are untouched
    expect(frame[1]! & 0x7f).toBe(n < 126 ? n : n < 0x10000 ? 126 : 127);
  });

  it('uses a different mask for every frame', () => {
    const masks = new Set<string>();
    for (let i = 0; i < 2000; i++)
      masks.add(decodeClientFrame(encodeClientFrame(Opcode.pong, Buffer.from('p'))).mask.toString('hex'));
    // 2,000 random 32-bit masks: a repeat is possible but has odds of about 1 in 2,000.
    expect(masks.size).toBeGreaterThan(1990);
  });

  it('builds a close frame with the status code first', () => {
    const decoded = decodeClientFrame(encodeClientFrame(Opcode.close, closePayload(1000, 'done')));
    expect(decoded.opcode).toBe(Opcode.close);
    expect(decoded.payload.readUInt16BE(0)).toBe(1000);
    expect(decoded.payload.subarray(2).toString()).toBe('done');
  });
});
