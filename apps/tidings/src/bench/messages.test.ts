import { describe, expect, it } from 'vitest';
import { nowMicros, readSendTime } from './messages.js';
import { publishBody } from './publisher.js';

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
