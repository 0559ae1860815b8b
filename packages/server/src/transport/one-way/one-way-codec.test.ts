import { jsonCodec } from '@tidings/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNdjsonFramer } from '../http-stream/ndjson-framer.js';
import { createSseFramer } from '../sse/sse-framer.js';
import { joinChunks } from './event-framer.js';
import { decodeOneWayRecords, oneWayCodec } from './one-way-codec.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('oneWayCodec', () => {
  it('turns a publication push into a record with its payload verbatim', () => {
    const unit = oneWayCodec.encodePush({
      channel: 'ch:1',
      pub: { offset: 42, data: enc.encode('{"a":1}'), tags: { k: 'v' } },
    });
    const [record, ...rest] = decodeOneWayRecords(unit);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ kind: 'publication', channel: 'ch:1', offset: 42, extras: ',"tags":{"k":"v"}' });
    expect(record?.kind === 'publication' && dec.decode(record.data)).toBe('{"a":1}');
  });

  it('keeps replies and other pushes as control records, joined in order', () => {
    const frame = oneWayCodec.join([
      oneWayCodec.encodeReply({ id: 1, connect: { client: 'c' } }),
      oneWayCodec.encodePush({ channel: 'x', unsubscribe: { code: 2000, reason: 'server unsubscribe' } }),
      oneWayCodec.encodePush({ channel: 'x', pub: { offset: 1, data: enc.encode('1') } }),
    ]);
    const records = decodeOneWayRecords(frame);
    expect(records.map((r) => r.kind)).toEqual(['control', 'control', 'publication']);
    expect(records[0]).toEqual({ kind: 'control', reply: { id: 1, connect: { client: 'c' } } });
  });

  it('refuses commands', () => {
    expect(() => oneWayCodec.decodeCommands(enc.encode('{}'))).toThrow(/no commands/);
  });

  it('never lets a payload put a line break into an SSE or NDJSON event', () => {
    const sse = createSseFramer({ retryMs: 1000 });
    const ndjson = createNdjsonFramer();
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const unit = oneWayCodec.encodePush({ channel: 'c', pub: { offset: 1, data: enc.encode(text) } });
        const [record] = decodeOneWayRecords(unit);
        if (record?.kind !== 'publication') throw new Error('expected a publication record');
        const open = ['{"type":"publication","data":', record.data];
        const event = dec.decode(joinChunks(sse.event('publication', open, 'AQ')));
        expect(event.endsWith('\n\n')).toBe(true);
        expect(event.slice(0, -2).split('\n')).toHaveLength(2);
        const line = dec.decode(joinChunks(ndjson.event('publication', open, 'AQ')));
        expect(line.indexOf('\n')).toBe(line.length - 1);
        expect(JSON.parse(line)).toHaveProperty('cursor', 'AQ');
        // The payload means what the JSON protocol says it means.
        const viaJson = jsonCodec.decodeReplies(
          jsonCodec.encodePush({ channel: 'c', pub: { data: enc.encode(text) } }),
        );
        const expected = dec.decode(viaJson[0]?.push?.pub?.data);
        expect(JSON.parse(line).data).toEqual(expected === '' ? null : JSON.parse(expected));
      }),
    );
  });

  it('the SSE framer refuses a field with a line break', () => {
    expect(() => createSseFramer({ retryMs: 0 }).event('end', ['{"a":"x\ny"'], undefined)).toThrow(/CR or LF/);
  });
});
