import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCodecRoundTrips, expectBadFrame } from './codec-suite.test-helpers.js';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import { decodeJsonCommand, jsonCodec } from './json-codec.js';
import { jsonBytes, messageArbitraries } from './message-arbitraries.test-helpers.js';
import type { Command, Reply } from './messages.js';

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string) => te.encode(s);
const text = (b: Uint8Array) => td.decode(b);
const arb = messageArbitraries(jsonBytes);

describeCodecRoundTrips(jsonCodec, arb);

describe('jsonCodec wire format', () => {
  it('keeps every encoded message intact while later ones are encoded (pooled and large outputs)', () => {
    // Small outputs share slabs (slab.ts); text is sized by its UTF-8 bytes, not its characters.
    const channels = Array.from({ length: 1_500 }, (_, i) => `ch-é😀-${i}-${'x'.repeat(i % 7 === 0 ? 5_000 : i % 90)}`);
    const encoded = channels.map((channel, i) =>
      jsonCodec.encodePush({ channel, pub: { data: bytes(`{"n":${i},"s":"ü"}`), offset: i + 1 } }),
    );
    for (const [i, frame] of encoded.entries()) {
      const [reply] = jsonCodec.decodeReplies(frame);
      expect(reply?.push?.channel).toBe(channels[i]);
      expect(text(reply?.push?.pub?.data ?? new Uint8Array())).toBe(`{"n":${i},"s":"ü"}`);
    }
    const joined = jsonCodec.join(encoded.slice(0, 3));
    expect(jsonCodec.decodeReplies(joined).map((r) => r.push?.channel)).toEqual(channels.slice(0, 3));
  });

  it('writes snake_case names, omits defaults and keeps fields the SDKs read unguarded', () => {
    const reply: Reply = { id: 3, presenceStats: { numClients: 0, numUsers: 2 } };
    expect(text(jsonCodec.encodeReply(reply))).toBe('{"id":3,"presence_stats":{"num_clients":0,"num_users":2}}');
    const sub: Reply = { id: 1, subscribe: { wasRecovering: true, recovered: false, epoch: '' } };
    expect(text(jsonCodec.encodeReply(sub))).toBe('{"id":1,"subscribe":{"was_recovering":true}}');
    const info: Reply = { push: { channel: 'c', join: { info: { user: '', client: 'x' } } } };
    expect(text(jsonCodec.encodeReply(info))).toBe('{"push":{"channel":"c","join":{"info":{"user":"","client":"x"}}}}');
  });

  it('splices data verbatim and decodes it byte for byte (json.RawMessage)', () => {
    const raw = '{"id":12345678901234567890,"f":1.10,"s":"\\u00e9"}';
    const push = { channel: 'n', pub: { data: bytes(raw), offset: 5, time: 1_700_000_000_000 } };
    const line = text(jsonCodec.encodePush(push));
    expect(line).toBe(`{"push":{"channel":"n","pub":{"data":${raw},"offset":5,"time":1700000000000}}}`);
    const [cmd] = jsonCodec.decodeCommands(bytes(`{"id":7,"publish":{"channel":"n","data":  ${raw} }}`));
    expect(text(cmd?.publish?.data as Uint8Array)).toBe(raw);
  });

  it('sends bytes that are not JSON as a JSON string, and compacts JSON holding line breaks', () => {
    const notJson = jsonCodec.encodePush({ message: { data: bytes('plain "text"') } });
    expect(JSON.parse(text(notJson))).toEqual({ push: { message: { data: 'plain "text"' } } });
    const binary = jsonCodec.encodePush({ message: { data: new Uint8Array([0xff, 0x41]) } });
    expect(JSON.parse(text(binary))).toEqual({ push: { message: { data: '\ufffdA' } } });
    const pretty = jsonCodec.encodePush({ message: { data: bytes('{\n  "a": "x y",\r\n  "b": [1, 2]\n}') } });
    expect(text(pretty)).toBe('{"push":{"message":{"data":{"a":"x y","b":[1,2]}}}}');
  });

  it('reads the empty command as the pong and writes the empty reply as the ping', () => {
    expect(jsonCodec.decodeCommands(bytes('{}'))).toEqual([{}]);
    expect(text(jsonCodec.encodeReply({}))).toBe('{}');
  });

  it('joins with newlines and no trailing newline; decoding skips blank lines and a trailing newline', () => {
    const frame = jsonCodec.join([bytes('{"id":1}'), bytes('{"id":2}')]);
    expect(text(frame)).toBe('{"id":1}\n{"id":2}');
    expect(jsonCodec.decodeCommands(bytes('{"id":1}\n\n  \r\n{"id":2}\n'))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(jsonCodec.decodeCommands(new Uint8Array(0))).toEqual([]);
  });

  it('ignores unknown fields of newer SDKs and treats null as absent', () => {
    const frame = bytes('{"id":2,"subscribe":{"channel":"a","flag":3,"tf":{"op":"and","nodes":[]},"token":null}}');
    expect(jsonCodec.decodeCommands(frame)).toEqual([{ id: 2, subscribe: { channel: 'a' } }]);
  });

  it('keeps a "__proto__" map key as data', () => {
    const [cmd] = jsonCodec.decodeCommands(bytes('{"connect":{"headers":{"__proto__":"x"}}}'));
    expect(Object.getPrototypeOf(cmd?.connect?.headers)).toBe(Object.prototype);
    expect(Object.entries(cmd?.connect?.headers ?? {})).toEqual([['__proto__', 'x']]);
  });

  it('decodeJsonCommand reads exactly one command object', () => {
    const command: Command = decodeJsonCommand(bytes(' {"id":4,"rpc":{"method":"m","data":[1]}} '));
    expect(command).toEqual({ id: 4, rpc: { method: 'm', data: bytes('[1]') } });
    expectBadFrame(() => decodeJsonCommand(bytes('{"id":1}\n{"id":2}')));
  });

  it('reads ASCII strings of every length whole, below and above the hand-built length', () => {
    for (const length of [1, 2, 15, 16, 17, 4096, 20_000]) {
      const token = 'a.b-_'.repeat(Math.ceil(length / 5)).slice(0, length);
      const [command] = jsonCodec.decodeCommands(bytes(`{"id":1,"connect":{"token":"${token}"}}`));
      expect(command?.connect?.token).toBe(token);
    }
    const [escaped] = jsonCodec.decodeCommands(bytes('{"id":1,"subscribe":{"channel":"a\\"b\u00e9"}}'));
    expect(escaped?.subscribe?.channel).toBe('a"b\u00e9');
  });
});

describe('jsonCodec malformed frames', () => {
  const cases: Record<string, string> = {
    'invalid JSON': '{"id":1,',
    'unterminated string': '{"id":1,"subscribe":{"channel":"a}}',
    'a JSON array': '[{"id":1}]',
    'a JSON string line': '"ping"',
    'a number line': '42',
    'trailing garbage': '{"id":1} x',
    'two objects on a line': '{"id":1}{"id":2}',
    'id as a string': '{"id":"1"}',
    'negative id': '{"id":-1}',
    'fractional id': '{"id":1.5}',
    'id beyond uint32': '{"id":4294967296}',
    'offset beyond 2^53': '{"subscribe":{"offset":9007199254740993}}',
    'channel as a number': '{"subscribe":{"channel":5}}',
    'bool as a string': '{"subscribe":{"recover":"true"}}',
    'request as an array': '{"publish":[]}',
    'map value of wrong type': '{"connect":{"headers":{"a":1}}}',
    'invalid raw data': '{"publish":{"channel":"a","data":{"a":}}}',
    'bad literal': '{"subscribe":{"recover":tru}}',
    'bad escape': '{"subscribe":{"channel":"\\x"}}',
    'control character in string': '{"subscribe":{"channel":"a\tb"}}',
    'invalid UTF-8 in data': '{"publish":{"data":"\xff"}}',
    'one bad line in a batch': '{"id":1}\n{"id":}',
  };
  for (const [name, frame] of Object.entries(cases)) {
    it(`rejects ${name} with BadFrame`, () => {
      const raw = name === 'invalid UTF-8 in data' ? Uint8Array.from(frame, (c) => c.charCodeAt(0)) : bytes(frame);
      expectBadFrame(() => jsonCodec.decodeCommands(raw));
    });
  }

  it('throws only BadFrame on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string().map(bytes)), (frame) => {
        try {
          jsonCodec.decodeCommands(frame);
        } catch (err) {
          expect(isTidingsError(err) && err.code === TidingsErrorCode.BadFrame).toBe(true);
        }
      }),
    );
  });
});
