import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type BrotliCompress, constants, createBrotliCompress, createGzip, type Gzip } from 'node:zlib';

/** A content coding a one-way stream may be compressed with. */
export type StreamEncoding = 'br' | 'gzip';

/**
 * The coding to use for a response, from the request's `Accept-Encoding`: `br` when acceptable,
 * else `gzip`, else none (identity). A coding with `q=0` is refused, `*` stands for codings not
 * named; when both are acceptable the higher `q` wins and `br` wins a tie.
 */
export function negotiateEncoding(acceptEncoding: string | readonly string[] | undefined): StreamEncoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const header = typeof acceptEncoding === 'string' ? acceptEncoding : acceptEncoding.join(',');
  const q = new Map<string, number>();
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    if (name === '') continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q=(.*)$/.exec(p);
      if (m?.[1] !== undefined) weight = Number(m[1]);
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, Number.isFinite(weight) ? weight : 0);
  }
  const star = q.get('*') ?? 0;
  const br = q.get('br') ?? star;
  const gzip = q.get('gzip') ?? star;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return undefined;
}

/**
 * Where a one-way stream writes: the response itself, or a compressor in front of it. Every
 * `write` is one batch of events and is flushed at once (gzip `Z_SYNC_FLUSH`, brotli
 * `BROTLI_OPERATION_FLUSH`), so the client can decode each event as it arrives.
 */
export interface StreamOutput {
  /** Writes the status and headers (adding `Content-Encoding` when compressing). */
  writeHead(status: number, headers: Readonly<Record<string, string>>): void;
  write(chunk: Uint8Array | string): void;
  /** Writes the last chunk, finishes the compressed stream and ends the response. */
  end(chunk: Uint8Array | string): void;
  /** Bytes accepted but not yet taken by the kernel: compressor input pending plus the response's buffer. */
  readonly bufferedBytes: number;
  /** True once the response's last byte was handed to the kernel. */
  readonly finished: boolean;
  /** Drops the compressor and the response at once. */
  destroy(): void;
  /**
   * The socket a prebuilt HTTP/1.1 chunk (`<hex size>\r\n<bytes>\r\n`) may be written to
   * right now, in order after everything written before, skipping the response's own chunking;
   * undefined when not (compressed, HTTP/2 or not chunked, headers not sent, bytes queued in
   * the response itself, ended).
   */
  chunkSocket(): Socket | undefined;
}

/** The internals of an HTTP/1 `ServerResponse` that `chunkSocket` checks (Node 20+). */
interface ResponseInternals {
  readonly chunkedEncoding?: boolean;
  readonly outputData?: readonly unknown[];
  readonly socket: (Socket & { _httpMessage?: unknown }) | null;
}

// Small windows: one compressor lives per open stream, and events are small and flushed one by one.
const gzipOptions = { level: 6, windowBits: 13, memLevel: 6, flush: constants.Z_SYNC_FLUSH };
const brotliOptions = {
  flush: constants.BROTLI_OPERATION_FLUSH,
  params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_LGWIN]: 16 },
};

/** The output of `res`, compressed with `encoding` when given. */
export function createStreamOutput(res: ServerResponse, encoding: StreamEncoding | undefined): StreamOutput {
  if (encoding === undefined) {
    return {
      writeHead: (status, headers) => void res.writeHead(status, headers),
      write: (chunk) => void res.write(chunk),
      end: (chunk) => void res.end(chunk),
      get bufferedBytes() {
        return res.writableLength;
      },
      get finished() {
        return res.writableFinished;
      },
      destroy: () => void res.destroy(),
      chunkSocket: () => {
        const internals = res as unknown as ResponseInternals;
        const socket = internals.socket;
        // The response writes straight to its socket exactly when these hold (_writeRaw), so a
        // direct write lands in order after them.
        if (
          socket === null ||
          internals.chunkedEncoding !== true ||
          !res.headersSent ||
          res.writableEnded ||
          internals.outputData?.length !== 0 ||
          socket._httpMessage !== res ||
          !socket.writable
        ) {
          return undefined;
        }
        return socket;
      },
    };
  }
  return new CompressedOutput(res, encoding);
}

class CompressedOutput implements StreamOutput {
  readonly #res: ServerResponse;
  readonly #encoding: StreamEncoding;
  readonly #zlib: Gzip | BrotliCompress;

  constructor(res: ServerResponse, encoding: StreamEncoding) {
    this.#res = res;
    this.#encoding = encoding;
    this.#zlib = encoding === 'br' ? createBrotliCompress(brotliOptions) : createGzip(gzipOptions);
    // No pipe: compressed bytes go straight into the response, whose buffer `bufferedBytes`
    // counts, so the session's slow-consumer bound sees them instead of a paused compressor.
    this.#zlib.on('data', (chunk: Buffer) => {
      if (!res.destroyed) res.write(chunk);
    });
    this.#zlib.once('end', () => {
      if (!res.destroyed) res.end();
    });
    this.#zlib.once('error', () => res.destroy());
    res.once('close', () => this.#zlib.destroy());
  }

  writeHead(status: number, headers: Readonly<Record<string, string>>): void {
    this.#res.writeHead(status, { ...headers, 'content-encoding': this.#encoding });
  }

  write(chunk: Uint8Array | string): void {
    if (!this.#zlib.destroyed && !this.#zlib.writableEnded) this.#zlib.write(chunk);
  }

  end(chunk: Uint8Array | string): void {
    if (!this.#zlib.destroyed && !this.#zlib.writableEnded) this.#zlib.end(chunk);
  }

  get bufferedBytes(): number {
    return this.#zlib.writableLength + this.#zlib.readableLength + this.#res.writableLength;
  }

  get finished(): boolean {
    return this.#res.writableFinished;
  }

  destroy(): void {
    this.#zlib.destroy();
    this.#res.destroy();
  }

  chunkSocket(): undefined {
    // Compressed bytes are this stream's own.
    return undefined;
  }
}
