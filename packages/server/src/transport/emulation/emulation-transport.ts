import type { ServerResponse } from 'node:http';
import { type Codec, type Disconnect, shouldReconnect } from '@tidings/protocol';
import type { Clock } from '../../internal/clock.js';
import type { Transport } from '../types.js';

/** The two streaming halves of bidirectional emulation, named as the centrifuge SDKs name them. */
export type EmulationKind = 'http_stream' | 'sse';

/** What the transport tells its session: the peer went away. */
export interface EmulationSessionPort {
  transportClosed(): void;
}

/** Options of an `EmulationTransport`. */
export interface EmulationTransportOptions {
  readonly kind: EmulationKind;
  readonly codec: Codec;
  /** The secret session id the client sends back with its emulation POSTs. */
  readonly session: string;
  /** How long the final disconnect push may take to reach the client before the socket is destroyed. */
  readonly closeGraceMs: number;
  readonly clock: Clock;
  /** Called once when the stream ends, whoever ended it (the edge forgets the session then). */
  readonly onEnd: () => void;
}

const newline = Buffer.from('\n');
const sseData = Buffer.from('data: ');
const sseLineBreak = Buffer.from('\ndata: ');
const sseEnd = Buffer.from('\n\n');

/**
 * The server-to-client half of a bidirectional emulation session: every frame the session writes
 * goes to one open HTTP response. `http_stream`: JSON replies one a line (NDJSON), Protobuf replies
 * varint-delimited as the codec encodes them. `sse`: JSON replies, one SSE event per frame with one
 * `data:` line per reply. Commands arrive through emulation POSTs, so the session is
 * bidirectional (pings are answered with pongs over POST).
 *
 * `bufferedBytes` is what the response holds unflushed (`writableLength`), so the session writer's
 * slow-consumer bound applies to a client that stops reading. `close` writes a disconnect push and
 * ends the response; the socket is destroyed if that does not drain within `closeGraceMs`.
 */
export class EmulationTransport implements Transport {
  readonly name: EmulationKind;
  readonly unidirectional = false;
  readonly codec: Codec;
  readonly emulationSession: string;
  readonly #res: ServerResponse;
  readonly #options: EmulationTransportOptions;
  #closed = false;
  #ended = false;
  #session: EmulationSessionPort | undefined;

  constructor(res: ServerResponse, options: EmulationTransportOptions) {
    this.#res = res;
    this.#options = options;
    this.name = options.kind;
    this.codec = options.codec;
    this.emulationSession = options.session;
    res.once('close', () => this.#peerGone());
  }

  get bufferedBytes(): number {
    return this.#res.writableLength;
  }

  /** True once the stream was closed by either side: nothing more is written. */
  get closed(): boolean {
    return this.#closed;
  }

  attach(session: EmulationSessionPort): void {
    this.#session = session;
  }

  /** Writes the response headers (plus `extraHeaders`, e.g. CORS) at once, so the SDK sees its transport open before the connect reply. */
  open(extraHeaders: Readonly<Record<string, string>> = {}): void {
    const sse = this.name === 'sse';
    this.#res.socket?.setNoDelay(true);
    this.#res.writeHead(200, {
      'content-type': sse
        ? 'text/event-stream; charset=utf-8'
        : this.codec.binary
          ? 'application/octet-stream'
          : 'application/json',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      ...extraHeaders,
    });
    this.#res.flushHeaders();
  }

  write(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#res.write(this.#frame(frame));
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  close(disconnect: Disconnect): void {
    if (this.#closed) return;
    this.#closed = true;
    const push = this.codec.encodePush({
      disconnect: { code: disconnect.code, reason: disconnect.reason, reconnect: shouldReconnect(disconnect.code) },
    });
    this.#res.end(this.#frame(push));
    this.#end();
    const timer = this.#options.clock.setTimeout(() => {
      if (!this.#res.writableFinished) this.#res.destroy();
    }, this.#options.closeGraceMs);
    this.#res.once('close', () => this.#options.clock.clearTimeout(timer));
  }

  #frame(frame: Uint8Array): Buffer {
    if (this.name === 'http_stream') return this.codec.binary ? Buffer.from(frame) : Buffer.concat([frame, newline]);
    // JSON units hold no raw line break, so every LF separates two replies: each gets a `data:` line
    // and the SDK receives the frame's text back as the event's data.
    const parts: Uint8Array[] = [sseData];
    let start = 0;
    for (let lf = frame.indexOf(10); lf !== -1; lf = frame.indexOf(10, start)) {
      parts.push(frame.subarray(start, lf), sseLineBreak);
      start = lf + 1;
    }
    parts.push(frame.subarray(start), sseEnd);
    return Buffer.concat(parts);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#options.onEnd();
  }

  #peerGone(): void {
    this.#closed = true;
    this.#end();
    // Idempotent in the session, so a stream it closed itself is released once too.
    this.#session?.transportClosed();
  }
}
