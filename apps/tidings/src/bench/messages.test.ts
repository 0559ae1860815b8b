import { describe, expect, it } from 'vitest';
import { findSendTime, nowMicros, readSendTime, splitJsonPushes } from './messages.js';
import { publicationData, publishBody } from './publisher.js';

const enc = new TextEncoder();

describe('send timestamps', () => {
  it('reads back the timestamp of the data the publisher builds, padded to the payload size', () => {
    const t = nowMicros();
    const body = JSON.parse(publishBody('bench:a', t, 100)) as { channel: string; data: unknown };
    expect(body.channel).toBe('bench:a');
    const data = enc.encode(JSON.stringify(body.data));
    expect(data.length).toBe(100);
    expect(readSendTime(data)).toBe(t);
  });

  it('tolerates whitespace after the colon and answers -1 for data without a timestamp', () => {
    expect(readSendTime(enc.encode('{"t": 42,"p":"x"}'))).toBe(42);
    expect(readSendTime(enc.encode('{"x":1}'))).toBe(-1);
    expect(readSendTime(enc.encode('{"t":"no"}'))).toBe(-1);
    expect(readSendTime(new Uint8Array())).toBe(-1);
  });

  it('never pads below the timestamp itself', () => {
    const data = JSON.stringify((JSON.parse(publishBody('c', 7, 1)) as { data: unknown }).data);
    expect(data).toBe('{"t":7,"p":""}');
  });
});

describe('findSendTime', () => {
  it('finds the data timestamp inside a one-way event, not the `{"type"` of the envelope', () => {
    const t = nowMicros();
    const line = enc.encode(
      `{"type":"publication","channel":"bench:fan-0","offset":3,"epoch":"e","data":${publicationData(t, 100)}}`,
    );
    expect(findSendTime(line, 0, line.length)).toBe(t);
    const other = enc.encode('{"type":"connected","client":"c","channels":["bench:fan-0"]}');
    expect(findSendTime(other, 0, other.length)).toBe(-1);
  });

  it('the Nchan body is the data alone, the same bytes as inside an API publish', () => {
    const data = publicationData(42, 100);
    expect(data.length).toBe(100);
    expect(JSON.parse(publishBody('c', 42, 100))).toEqual({ channel: 'c', data: JSON.parse(data) });
  });
});

describe('splitJsonPushes', () => {
  it('reports every push line with its send time and returns the other lines for a real decode', () => {
    const frame = enc.encode(
      [
        '{"push":{"channel":"c","pub":{"data":{"t":11,"p":"x"},"offset":1}}}',
        '{}',
        '{"push":{"channel":"c","pub":{"data":{"other":1},"offset":2}}}',
        '{"id":2,"subscribe":{}}',
        '{"push":{"channel":"c","leave":{"info":{"user":"u","client":"x"}}}}',
        '{"push":{"channel":"c","pub":{"data":{"t":12},"offset":3}}}',
      ].join('\n'),
    );
    const seen: number[] = [];
    const rest = splitJsonPushes(frame, (t) => seen.push(t));
    expect(seen).toEqual([11, -1, 12]);
    expect(new TextDecoder().decode(rest)).toBe(
      '{}\n{"id":2,"subscribe":{}}\n{"push":{"channel":"c","leave":{"info":{"user":"u","client":"x"}}}}',
    );
  });

  it('returns an empty frame when every line was a push', () => {
    const seen: number[] = [];
    const rest = splitJsonPushes(enc.encode('{"push":{"pub":{"data":{"t":5}}}}'), (t) => seen.push(t));
    expect(seen).toEqual([5]);
    expect(rest.length).toBe(0);
  });
});
