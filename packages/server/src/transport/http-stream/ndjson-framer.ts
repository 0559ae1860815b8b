import type { Chunk, EventFramer, OneWayEventType } from '../one-way/index.js';

/**
 * Newline-delimited JSON framing: one event object a line, the cursor as its `"cursor"` member
 * when the event moves the stream, `{"type":"heartbeat"}` lines on an idle stream, and a final
 * `{"type":"end",...}` line when the server ends the stream (a stream cut without it crashed).
 */
export function createNdjsonFramer(): EventFramer {
  return Object.freeze({
    name: 'http-stream',
    headers: Object.freeze({ 'content-type': 'application/x-ndjson; charset=utf-8' }),
    preamble: () => '',
    event(_type: OneWayEventType, open: readonly Chunk[], cursor: string | undefined): Chunk[] {
      return [...open, cursor === undefined ? '}\n' : `,"cursor":"${cursor}"}\n`];
    },
    heartbeat: () => '{"type":"heartbeat"}\n',
  });
}
