/** The kinds of events a one-way stream carries (the `type` member of every event object). */
export type OneWayEventType =
  | 'connected'
  | 'publication'
  | 'discontinuity'
  | 'subscribe'
  | 'unsubscribe'
  | 'join'
  | 'leave'
  | 'end';

/** Pieces of output: text, or bytes already known to be one line of UTF-8 JSON. */
export type Chunk = string | Uint8Array;

/**
 * Frames events for one wire format (SSE, NDJSON). An event is a JSON object; the transport
 * hands it over *open*: its chunks hold the object without the closing brace, so a format can
 * add members (NDJSON adds `"cursor"`) without re-serializing the payload.
 *
 * Contract: the open chunks hold no CR or LF (string chunks come from `JSON.stringify`, byte
 * chunks are payloads normalized by `oneWayCodec`); `cursor` is base64url. A framer must
 * produce output in which a line break can only be its own framing.
 */
export interface EventFramer {
  /** Short name for logs, e.g. "sse". */
  readonly name: string;
  /** Response headers besides the defaults every one-way stream sends. */
  readonly headers: Readonly<Record<string, string>>;
  /** Written once, right after the headers. */
  preamble(): string;
  /** The framed event; `cursor` is the stream position after it, when the event moves it. */
  event(type: OneWayEventType, open: readonly Chunk[], cursor: string | undefined): Chunk[];
  /** A keep-alive the client ignores. */
  heartbeat(): string;
}

/** Concatenates chunks into one buffer for a single socket write. */
export function joinChunks(chunks: readonly Chunk[]): Buffer {
  return join(chunks, false);
}

/**
 * `joinChunks` framed as one HTTP/1.1 chunk (`<hex size>\r\n<bytes>\r\n`), as a chunked
 * `res.write` of it would send it, for writing straight to the socket.
 */
export function joinAsHttpChunk(chunks: readonly Chunk[]): Buffer {
  return join(chunks, true);
}

function join(chunks: readonly Chunk[], httpChunk: boolean): Buffer {
  // Sized first and written in place: no intermediate Buffer per string chunk.
  let size = 0;
  for (const c of chunks) size += typeof c === 'string' ? Buffer.byteLength(c, 'utf8') : c.byteLength;
  // A zero-size chunk would end the response.
  if (size === 0) return Buffer.alloc(0);
  const head = httpChunk ? `${size.toString(16)}\r\n` : '';
  const out = Buffer.allocUnsafe(head.length + size + (httpChunk ? 2 : 0));
  let pos = out.write(head, 0, 'latin1');
  for (const c of chunks) {
    if (typeof c === 'string') {
      pos += out.write(c, pos, 'utf8');
    } else {
      out.set(c, pos);
      pos += c.byteLength;
    }
  }
  if (httpChunk) out.write('\r\n', pos, 'latin1');
  return out;
}
