import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Chunk, EventFramer, OneWayEventType } from '../one-way/index.js';

function assertSingleLine(text: string): string {
  // Defence in depth: every input is JSON or base64url already, so this never fires. Two
  // includes are cheaper than a regular expression on this per-event path.
  if (text.includes('\n') || text.includes('\r'))
    throw new TidingsError(TidingsErrorCode.BadFrame, 'an SSE field may not hold CR or LF');
  return text;
}

/**
 * Server-Sent Events framing (WHATWG HTML §9.2): publications are unnamed events (`message`,
 * so `EventSource.onmessage` receives them), every other event is named after its type. The
 * cursor goes in `id:`, so a browser resumes with `Last-Event-ID` on its own; the JSON object
 * goes on one `data:` line. Heartbeats are comments. `retryMs` is sent once as `retry:`.
 */
export function createSseFramer(options: { retryMs: number }): EventFramer {
  const retry = `retry: ${Math.max(0, Math.floor(options.retryMs))}\n\n`;
  return Object.freeze({
    name: 'sse',
    headers: Object.freeze({ 'content-type': 'text/event-stream; charset=utf-8' }),
    preamble: () => retry,
    event(type: OneWayEventType, open: readonly Chunk[], cursor: string | undefined): Chunk[] {
      let head = type === 'publication' ? '' : `event: ${type}\n`;
      if (cursor !== undefined) head += `id: ${assertSingleLine(cursor)}\n`;
      const out: Chunk[] = [`${head}data: `];
      for (const chunk of open) out.push(typeof chunk === 'string' ? assertSingleLine(chunk) : chunk);
      out.push('}\n\n');
      return out;
    },
    heartbeat: () => ': heartbeat\n\n',
  });
}
