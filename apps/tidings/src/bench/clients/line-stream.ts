// A long-lived HTTP GET read line by line: the framing shared by SSE (`data: …` lines) and NDJSON.
// node:http rather than fetch: it binds each connection to a source address (`localAddress`)
// without an extra dispatcher, and hands over Buffers with no stream-reader promise per chunk.
// SSE is parsed here by hand rather than with the `eventsource` package: that one decodes every
// chunk to a string, splits with regular expressions and dispatches a MessageEvent per event, which
// on one load core would cap the figure well below what the servers deliver. The bench only needs
// the `data:` lines, so a byte scan of complete lines is enough.
import { request } from 'node:http';
import type { Subscriber } from './types.js';

const newline = 0x0a;
const carriageReturn = 0x0d;
/** A line longer than this is a broken stream, not a slow one. */
const maxLineBytes = 1 << 20;

/** What `openLineStream` reports. */
export interface LineStreamHandlers {
  /** The response head arrived; `status` is its HTTP status. */
  response(status: number): void;
  /** One complete line, `buf[start, end)`, without its CR LF; `buf` is only valid during the call. */
  line(buf: Buffer, start: number, end: number): void;
  /** The request failed, the response ended, or a line exceeded 1 MiB. */
  closed(): void;
}

/**
 * Sends `GET url` on a connection of its own bound to `localAddress` and calls `handlers.line`
 * for every line of a 200 response. A non-200 response is reported and dropped.
 */
export function openLineStream(
  url: URL,
  headers: Readonly<Record<string, string>>,
  localAddress: string,
  handlers: LineStreamHandlers,
): Subscriber {
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    handlers.closed();
  };
  const req = request(url, { method: 'GET', headers, localAddress, agent: false });
  req.on('response', (res) => {
    handlers.response(res.statusCode ?? 0);
    if (res.statusCode !== 200) {
      res.resume();
      req.destroy();
      return;
    }
    let carry: Buffer | undefined;
    res.on('data', (chunk: Buffer) => {
      let buf = chunk;
      if (carry !== undefined) {
        buf = Buffer.concat([carry, chunk]);
        carry = undefined;
      }
      let start = 0;
      for (let nl = buf.indexOf(newline, start); nl >= 0; nl = buf.indexOf(newline, start)) {
        handlers.line(buf, start, nl > start && buf[nl - 1] === carriageReturn ? nl - 1 : nl);
        start = nl + 1;
      }
      if (start < buf.length) {
        if (buf.length - start > maxLineBytes) req.destroy();
        // A copy: the chunk may be a slice of a larger pooled buffer we should not keep alive.
        else carry = Buffer.from(buf.subarray(start));
      }
    });
    res.on('close', end);
    res.on('error', end);
  });
  req.on('error', end);
  req.on('close', end);
  req.end();
  return {
    close: () => req.destroy(),
    destroy: () => req.destroy(),
  };
}

/** Whether `buf[at…]` starts with `prefix` and stays within `end`. */
export function hasPrefix(buf: Buffer, at: number, end: number, prefix: Uint8Array): boolean {
  if (end - at < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (buf[at + k] !== prefix[k]) return false;
  return true;
}

/** The bytes of an ASCII string (for `hasPrefix`). */
export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
