import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCodecRoundTrips, expectBadFrame } from './codec-suite.test-helpers.js';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import { ReplySchema } from './gen/client_pb.js';
import { anyBytes, messageArbitraries } from './message-arbitraries.test-helpers.js';
import type { Push } from './messages.js';
import { protobufCodec } from './protobuf-codec.js';
import { encodeFastPush, isFastPush } from './protobuf-push.js';
import { readVarint } from './varint.js';

const arb = messageArbitraries(anyBytes);
const te = new TextEncoder();

describeCodecRoundTrips(protobufCodec, arb);

describe('fast fan-out push encoder', () => {
  // The reference: protobuf-es serializing the same reply (64-bit fields as bigint).
  function reference(push: Push): Uint8Array {
    const { channel, pub, join, leave, message } = push;
    const pbPub = pub && { ...pub, offset: BigInt(pub.offset ?? 0), time: BigInt(pub.time ?? 0) };
    const init = {
      ...(channel === undefined ? {} : { channel }),
      ...(pbPub ? { pub: pbPub } : {}),
      ...(join ? { join } : {}),
      ...(leave ? { leave } : {}),
      ...(message ? { message } : {}),
    };
    return toBinary(ReplySchema, create(ReplySchema, { push: init }));
  }

  it('writes exactly the bytes protobuf-es writes', () => {
    fc.assert(
      fc.property(arb.push, (push) => {
        fc.pre(isFastPush(push));
        const fast = encodeFastPush(push);
        const body = reference(push);
        const cursor = { pos: 0 };
        expect(readVarint(fast, fast.length, cursor)).toBe(body.length);
        expect(fast.subarray(cursor.pos)).toEqual(body);
      }),
    );
  });

  it('handles multi-byte lengths, non-ASCII strings and offsets above 2^32', () => {
    const push: Push = {
      channel: 'prix:€',
      pub: { data: new Uint8Array(300).fill(7), offset: 2 ** 40 + 3, time: 1_700_000_000_123, tags: { clé: '😀' } },
    };
    expect(isFastPush(push)).toBe(true);
    expect(protobufCodec.decodeReplies(encodeFastPush(push))).toEqual([{ push }]);
  });

  it('leaves pushes it does not handle to protobuf-es', () => {
    expect(isFastPush({ channel: 'a', pub: { data: new Uint8Array(1), time: -5 } })).toBe(false);
    expect(isFastPush({ disconnect: { code: 3001, reason: 'shutdown' } })).toBe(false);
    expect(isFastPush({ channel: 'a' })).toBe(false);
  });
});

describe('protobufCodec wire details', () => {
  it('reads a zero-length unit as the pong and writes the empty reply as a zero-length unit (ping)', () => {
    expect(protobufCodec.decodeCommands(Uint8Array.of(0))).toEqual([{}]);
    expect(protobufCodec.encodeReply({})).toEqual(Uint8Array.of(0));
    expect(protobufCodec.decodeCommands(new Uint8Array(0))).toEqual([]);
  });

  it('returns byte fields as copies, not views of the frame', () => {
    const frame = protobufCodec.encodeCommands([{ id: 1, publish: { channel: 'c', data: te.encode('abc') } }]);
    const [cmd] = protobufCodec.decodeCommands(frame);
    frame.fill(0);
    expect(cmd?.publish?.data).toEqual(te.encode('abc'));
  });

  it('drops a "__proto__" map key (protobuf-es cannot hold it) without touching any prototype', () => {
    // Command { connect (4) { headers (6) { key "__proto__", value "x" } } }
    const key = [...te.encode('__proto__')];
    const entry = [0x0a, key.length, ...key, 0x12, 0x01, 0x78];
    const connect = [0x32, entry.length, ...entry];
    const cmd = [0x22, connect.length, ...connect];
    const [decoded] = protobufCodec.decodeCommands(Uint8Array.of(cmd.length, ...cmd));
    expect(decoded).toEqual({ connect: {} });
    expect(Object.getPrototypeOf(decoded?.connect)).toBe(Object.prototype);
  });

  it('skips fields it does not know (newer SDK fields)', () => {
    // SubscribeRequest { channel: "a" (1), flag: 3 (14, varint) } inside Command { id: 2, subscribe (5) }.
    const sub = [0x0a, 0x01, 0x61, 0x70, 0x03];
    const cmd = [0x08, 0x02, 0x2a, sub.length, ...sub];
    expect(protobufCodec.decodeCommands(Uint8Array.of(cmd.length, ...cmd))).toEqual([
      { id: 2, subscribe: { channel: 'a' } },
    ]);
  });
});

describe('protobufCodec malformed frames', () => {
  const cases: Record<string, number[]> = {
    'a truncated length varint': [0x80],
    'a length varint longer than 2^53': [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
    'a length beyond the buffer': [0x05, 0x08, 0x01],
    'a second unit cut short': [0x02, 0x08, 0x01, 0x04, 0x08],
    'a truncated field varint': [0x02, 0x08, 0xff],
    'a string longer than its message': [0x03, 0x22, 0x05, 0x0a],
    'an invalid wire type': [0x02, 0x0f, 0x00],
    'field number zero': [0x02, 0x00, 0x00],
    'garbage bytes': [0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    'an unterminated group': [0x02, 0x1b, 0x08],
  };
  for (const [name, frame] of Object.entries(cases)) {
    it(`rejects ${name} with BadFrame`, () => {
      expectBadFrame(() => protobufCodec.decodeCommands(Uint8Array.from(frame)));
    });
  }

  it('rejects offsets above 2^53 - 1', () => {
    // Command { subscribe { offset (7) = 2^53 } }
    const offset = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    const sub = [0x38, ...offset];
    const cmd = [0x2a, sub.length, ...sub];
    expectBadFrame(() => protobufCodec.decodeCommands(Uint8Array.of(cmd.length, ...cmd)));
  });

  it('throws only BadFrame on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (frame) => {
        for (const decode of [protobufCodec.decodeCommands, protobufCodec.decodeReplies]) {
          try {
            decode(frame);
          } catch (err) {
            expect(isTidingsError(err) && err.code === TidingsErrorCode.BadFrame, String(err)).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
