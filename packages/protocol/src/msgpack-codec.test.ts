import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { describeCodecRoundTrips, expectBadFrame } from './codec-suite.test-helpers.js';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import { anyBytes, messageArbitraries } from './message-arbitraries.test-helpers.js';
import { msgpackCodec } from './msgpack-codec.js';

const arb = messageArbitraries(anyBytes);
const te = new TextEncoder();

describeCodecRoundTrips(msgpackCodec, arb);

describe('msgpackCodec wire format', () => {
  it('writes snake_case names, defaults left out, and data as bin', () => {
    const unit = msgpackCodec.encodePush({ channel: 'c', pub: { data: Uint8Array.of(0xff, 0), offset: 0 } });
    // fixmap 1 "push" → fixmap 2 "channel" "c", "pub" → fixmap 1 "data" bin8 len 2.
    const expected = [0x81, 0xa4, ...te.encode('push'), 0x82, 0xa7, ...te.encode('channel'), 0xa1, 0x63];
    expected.push(0xa3, ...te.encode('pub'), 0x81, 0xa4, ...te.encode('data'), 0xc4, 0x02, 0xff, 0x00);
    expect([...unit]).toEqual(expected);
    const stats = msgpackCodec.encodeReply({ id: 3, presenceStats: { numClients: 0, numUsers: 2 } });
    expect(Object.keys((msgpackCodec.decodeReplies(stats)[0] as { presenceStats: object }).presenceStats)).toEqual([
      'numClients',
      'numUsers',
    ]);
  });

  it('writes the ping and reads the pong as an empty map', () => {
    expect([...msgpackCodec.encodeReply({})]).toEqual([0x80]);
    expect(msgpackCodec.decodeCommands(Uint8Array.of(0x80))).toEqual([{}]);
    expect(msgpackCodec.decodeCommands(new Uint8Array(0))).toEqual([]);
  });

  it('reads a batch of concatenated values, uint64 offsets, nil as absent, and skips unknown keys', () => {
    const frame = new Uint8Array([
      ...pack({ id: 1, subscribe: { channel: 'a', offset: 2 ** 40, epoch: null, flag_from_the_future: [1] } }),
      ...pack({ id: 2, publish: { channel: 'b', data: Uint8Array.of(1, 2) } }),
    ]);
    expect(msgpackCodec.decodeCommands(frame)).toEqual([
      { id: 1, subscribe: { channel: 'a', offset: 2 ** 40 } },
      { id: 2, publish: { channel: 'b', data: Uint8Array.of(1, 2) } },
    ]);
    // uint64 (0xcf) as another encoder writes it.
    const sub = Uint8Array.of(
      0x81,
      0xa9,
      ...te.encode('subscribe'),
      0x81,
      0xa6,
      ...te.encode('offset'),
      0xcf,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
    );
    expect(msgpackCodec.decodeCommands(sub)).toEqual([{ subscribe: { offset: 2 ** 32 } }]);
  });

  it('returns byte fields as copies, not views of the frame', () => {
    const frame = msgpackCodec.encodeCommands([{ id: 1, publish: { channel: 'c', data: te.encode('abc') } }]);
    const [cmd] = msgpackCodec.decodeCommands(frame);
    frame.fill(0);
    expect(cmd?.publish?.data).toEqual(te.encode('abc'));
  });

  it('keeps a "__proto__" map key as data without touching any prototype', () => {
    const frame = pack({ connect: { headers: JSON.parse('{"__proto__":"x","a":"b"}') } });
    const [decoded] = msgpackCodec.decodeCommands(frame);
    expect(Object.getPrototypeOf(decoded?.connect?.headers)).toBe(Object.prototype);
    expect(decoded?.connect?.headers?.a).toBe('b');
  });
});

describe('msgpackCodec malformed frames', () => {
  const cases: Record<string, Uint8Array> = {
    'a truncated map': Uint8Array.of(0x82, 0xa2, 0x69, 0x64),
    'a truncated string': Uint8Array.of(0x81, 0xa5, 0x61),
    'a value that is not a map': pack([1, 2]),
    'a number where a map is expected': Uint8Array.of(0x05),
    'a string id': pack({ id: '1' }),
    'a negative uint32 id': pack({ id: -1 }),
    'a fractional offset': pack({ subscribe: { offset: 1.5 } }),
    'an offset above 2^53 - 1': pack({ subscribe: { offset: 2 ** 53 } }),
    'a uint64 beyond 2^53': Uint8Array.of(0x81, 0xa2, 0x69, 0x64, 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0),
    'data as a string instead of bin': pack({ publish: { channel: 'c', data: 'text' } }),
    'a list that is not an array': pack({ connect: { subs: 'x' } }),
    'a boolean as a number': pack({ subscribe: { recover: 1 } }),
    'the reserved byte 0xc1': Uint8Array.of(0xc1),
    'a timestamp extension where a map is expected': Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1),
  };
  for (const [name, frame] of Object.entries(cases)) {
    it(`rejects ${name} with BadFrame`, () => {
      expectBadFrame(() => msgpackCodec.decodeCommands(frame));
    });
  }

  it('throws only BadFrame on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (frame) => {
        for (const decode of [msgpackCodec.decodeCommands, msgpackCodec.decodeReplies]) {
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
