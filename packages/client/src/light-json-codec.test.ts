import { type Command, decodeJsonCommand, jsonCodec, type Reply } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { lightJsonCodec, parsedData } from './light-json-codec.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Replies as plain values, `data` as text (also the lazy `data` getter of light publications). */
const norm = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return dec.decode(v);
  if (Array.isArray(v)) return v.map(norm);
  if (v === null || typeof v !== 'object') return v;
  const keys = new Set(Object.keys(v));
  if ('data' in v) keys.add('data');
  return Object.fromEntries([...keys].map((k) => [k, norm((v as Record<string, unknown>)[k])]));
};
const plain = (replies: unknown[]) => norm(replies) as unknown[];

describe('lightJsonCodec', () => {
  it('writes every command the client sends as the server decodes it (byte fields as raw JSON)', () => {
    const commands: Command[] = [
      { id: 1, connect: { token: 't' } },
      { id: 2, subscribe: { channel: 'a', recoverable: true, positioned: true, recover: true, epoch: 'e', offset: 7 } },
      { id: 3, publish: { channel: 'a', data: enc.encode('{"n":1,"s":"x\\u0000y"}'), idempotencyKey: 'k' } },
      { id: 4, subRefresh: { channel: 'a', token: 't2' } },
      { id: 5, refresh: { token: 't3' } },
      { id: 6, unsubscribe: { channel: 'a' } },
    ];
    const lines = dec.decode(lightJsonCodec.encodeCommands(commands)).split('\n');
    expect(lines).toHaveLength(commands.length);
    expect(lines.map((l) => plain([decodeJsonCommand(enc.encode(l)) as Reply])[0])).toEqual(plain(commands as Reply[]));
    expect(dec.decode(lightJsonCodec.encodeCommands([{}]))).toBe('{}');
  });

  it('reads what the server writes like jsonCodec does, keeping the parsed payload of publications', () => {
    const data = enc.encode('{"price":1.5}');
    const replies: Reply[] = [
      { id: 1, connect: { client: 'c', ping: 25, pong: true, expires: true, ttl: 60, session: 's', node: 'n' } },
      {
        id: 2,
        subscribe: {
          recoverable: true,
          positioned: true,
          epoch: 'e',
          offset: 2,
          recovered: true,
          wasRecovering: true,
          publications: [
            { offset: 1, data, tags: { k: 'v' } },
            { offset: 2, data },
          ],
        },
      },
      { push: { channel: 'a', pub: { offset: 3, data } } },
      { push: { channel: 'a', unsubscribe: { code: 2500, reason: 'insufficient state' } } },
      { push: { disconnect: { code: 3001, reason: 'shutdown', reconnect: true } } },
      { id: 3, error: { code: 108, message: 'not available', temporary: true } },
    ];
    const frame = enc.encode(replies.map((r) => dec.decode(jsonCodec.encodeReply(r))).join('\n'));
    const light = lightJsonCodec.decodeReplies(frame);
    expect(plain(light)).toEqual(plain(jsonCodec.decodeReplies(frame)));
    const pub = light[2]?.push?.pub as unknown as Record<symbol, unknown> | undefined;
    expect(pub?.[parsedData]).toEqual({ price: 1.5 });
  });

  it('throws on a frame that is not JSON objects', () => {
    expect(() => lightJsonCodec.decodeReplies(enc.encode('{"id":1'))).toThrow();
    expect(() => lightJsonCodec.decodeReplies(enc.encode('[1]'))).toThrow();
  });
});
