// A minimal WebSocket client (RFC 6455) for the load generator of `tidings bench`, for the bench
// workers only, never the server.
//
// Why hand-written and not the `ws` package's client: the load generator must cost less per frame
// than the servers it measures. With `ws`, every frame goes net.Socket readable stream → ws
// Receiver (a Writable stream) → 'message' event, about 10 µs a frame, so at a few thousand
// subscribers one load core, not the server, set the latency and throughput figures. Here the
// socket is opened with Node's `onread` option: the kernel's bytes land in one reusable buffer
// per process and are parsed in place (ws-frames.ts), without stream machinery or a copy per frame.
//
// What it does: ws:// (or http://) URLs only (no TLS), the HTTP/1.1 Upgrade handshake with the
// status and Sec-WebSocket-Accept checked, optional subprotocols, no extensions (no
// permessage-deflate), pings answered with pongs, a server close answered and the socket ended.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { closePayload, encodeClientFrame, FrameParser, type FrameSink, Opcode, RawWsError } from './ws-frames.js';

export { RawWsError, type RawWsErrorCode } from './ws-frames.js';

/** RFC 6455 §1.3: appended to the key before hashing it into Sec-WebSocket-Accept. */
const acceptGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A response head longer than this is not a WebSocket server's. */
const maxHeadBytes = 16 * 1024;
const headEnd = Buffer.from('\r\n\r\n');

/**
 * The read buffer every connection of this process shares: `onread` callbacks run one at a time
 * and synchronously, and the parser copies any partial frame out before returning.
 */
const readBuffer = Buffer.allocUnsafe(256 * 1024);

/** What a {@link RawWebSocket} reports. */
export interface RawWsHandlers {
  /** The handshake succeeded; `protocol` is the subprotocol the server chose ('' for none). */
  open?(protocol: string): void;
  /**
   * A text or binary message. `data` is only valid during the call: it may be a view of the
   * shared read buffer, overwritten by the next read. Copy what must outlive the call.
   */
  message(data: Buffer, binary: boolean): void;
  /** The connection failed (socket error, bad handshake, protocol violation); `closed` follows. */
  error?(error: RawWsError): void;
  /** The server's close frame arrived (its status code, 1005 when none); `closed` follows. */
  serverClose?(code: number): void;
  /** The TCP connection is gone; called exactly once. */
  closed(): void;
}

/** Where and how to connect. */
export interface RawWsOptions {
  /** `ws://host:port/path?query` (`http://` is taken as the same). */
  readonly url: string | URL;
  /** Source address to bind the socket to. */
  readonly localAddress?: string;
  /** Subprotocols to offer (Sec-WebSocket-Protocol); when any are offered the server must pick one. */
  readonly protocols?: readonly string[];
}

/** An open (or opening) client connection. */
export interface RawWebSocket {
  /** Sends one text frame (a string or UTF-8 bytes). Ignored unless open. */
  sendText(data: string | Uint8Array): void;
  /** Sends one binary frame. Ignored unless open. */
  sendBinary(data: Uint8Array): void;
  /** Graceful close: a close frame (default 1000), then the socket is ended. Before open: destroy. */
  close(code?: number): void;
  /** Drops the TCP connection at once. */
  destroy(): void;
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

/**
 * Opens a WebSocket connection. Never throws for network or protocol failures: they arrive as
 * `handlers.error` then `handlers.closed`.
 */
export function openRawWebSocket(options: RawWsOptions, handlers: RawWsHandlers): RawWebSocket {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  const key = randomBytes(16).toString('base64');
  const protocols = options.protocols ?? [];
  let state: State = 'handshake';
  let head: Buffer | undefined;
  let reported = false;

  const report = (error: RawWsError): void => {
    if (reported) return;
    reported = true;
    handlers.error?.(error);
  };

  const sink: FrameSink = {
    message: (data, binary) => {
      if (state === 'open' || state === 'closing') handlers.message(data, binary);
    },
    ping: (payload) => {
      if (state === 'open') socket.write(encodeClientFrame(Opcode.pong, payload));
    },
    close: (code) => {
      handlers.serverClose?.(code);
      if (state === 'open') {
        // Echo the status (RFC 6455 §5.5.1); 1005 and 1006 must not be sent, so answer 1000 then.
        const answer = code === 1005 || code === 1006 ? 1000 : code;
        socket.end(encodeClientFrame(Opcode.close, closePayload(answer)));
      } else socket.end();
      state = 'closing';
    },
    error: (error) => {
      report(error);
      // Tell the server why (1002 protocol error, 1009 too big), then drop the connection.
      const code = error.code === 'WS_TOO_LARGE' ? 1009 : 1002;
      state = 'closed';
      socket.write(encodeClientFrame(Opcode.close, closePayload(code)), () => socket.destroy());
    },
  };
  const parser = new FrameParser(sink);

  const failHandshake = (error: RawWsError): void => {
    report(error);
    state = 'closed';
    parser.stop();
    socket.destroy();
  };

  /** Reads the response head; returns where the frames after it start, or -1 (incomplete or failed). */
  const readHead = (buf: Buffer, end: number): number => {
    const previous = head?.length ?? 0;
    head = head === undefined ? Buffer.from(buf.subarray(0, end)) : Buffer.concat([head, buf.subarray(0, end)]);
    const at = head.indexOf(headEnd, Math.max(0, previous - 3));
    if (at < 0) {
      if (head.length > maxHeadBytes) {
        failHandshake(new RawWsError('WS_HANDSHAKE', `no end of the response head in ${maxHeadBytes} bytes`));
      }
      return -1;
    }
    const problem = checkResponse(head.toString('latin1', 0, at), key, protocols);
    if (typeof problem !== 'string') {
      failHandshake(problem);
      return -1;
    }
    // Bytes of `buf` past the head: frames the server sent right after its 101.
    const rest = at + headEnd.length - previous;
    head = undefined;
    state = 'open';
    handlers.open?.(problem);
    return rest;
  };

  let socket: Socket;
  try {
    if (url.protocol !== 'ws:' && url.protocol !== 'http:') {
      throw new RawWsError('WS_URL', `${url.protocol} URLs are not supported (ws:// only)`);
    }
    socket = connect({
      host: url.hostname,
      port: Number(url.port || 80),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (bytes, buf) => {
          const data = buf as Buffer;
          let at = 0;
          if (state === 'handshake') {
            at = readHead(data, bytes);
            if (at < 0) return true;
          }
          if (state === 'open' || state === 'closing') parser.push(data, at, bytes);
          return true;
        },
      },
    });
  } catch (error) {
    // A bad URL or option: the same shape as a failed connection, reported on the next turn.
    const failure =
      error instanceof RawWsError ? error : new RawWsError('WS_URL', String(error), { cause: error as Error });
    setImmediate(() => {
      report(failure);
      handlers.closed();
    });
    const none = (): void => {};
    return { sendText: none, sendBinary: none, close: none, destroy: none };
  }
  socket.write(upgradeRequest(url, key, protocols));
  socket.on('error', (error) => report(new RawWsError('WS_SOCKET', error.message, { cause: error })));
  socket.on('close', () => {
    if (state === 'handshake' && !reported) {
      report(new RawWsError('WS_HANDSHAKE', 'the connection closed before the handshake completed'));
    }
    state = 'closed';
    parser.stop();
    handlers.closed();
  });

  return {
    sendText(data) {
      if (state === 'open') socket.write(encodeClientFrame(Opcode.text, toBytes(data)));
    },
    sendBinary(data) {
      if (state === 'open') socket.write(encodeClientFrame(Opcode.binary, data));
    },
    close(code = 1000) {
      if (state === 'open') {
        state = 'closing';
        socket.end(encodeClientFrame(Opcode.close, closePayload(code)));
      } else if (state === 'handshake') {
        state = 'closed';
        socket.destroy();
      }
    },
    destroy() {
      state = 'closed';
      parser.stop();
      socket.destroy();
    },
  };
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : data;
}

/** The HTTP/1.1 Upgrade request (RFC 6455 §4.1). */
export function upgradeRequest(url: URL, key: string, protocols: readonly string[]): string {
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(', ')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The Sec-WebSocket-Accept a server must answer to `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + acceptGuid)
    .digest('base64');
}

/**
 * Checks a response head (without its final blank line) against RFC 6455 §4.1: status 101,
 * `Upgrade: websocket`, the accept hash of `key`, a subprotocol among those offered (one is
 * required when any were offered). Returns the chosen subprotocol ('' for none) or the failure.
 */
export function checkResponse(head: string, key: string, protocols: readonly string[]): string | RawWsError {
  const lines = head.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
  if (status === null) return new RawWsError('WS_HANDSHAKE', `not an HTTP/1.1 response: ${JSON.stringify(lines[0])}`);
  if (status[1] !== '101') {
    return new RawWsError('WS_BAD_STATUS', `expected status 101, got ${JSON.stringify(lines[0])}`);
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    return new RawWsError(
      'WS_HANDSHAKE',
      `expected "Upgrade: websocket", got ${JSON.stringify(headers.get('upgrade'))}`,
    );
  }
  const accept = headers.get('sec-websocket-accept');
  if (accept !== acceptFor(key)) {
    return new RawWsError('WS_BAD_ACCEPT', `Sec-WebSocket-Accept ${JSON.stringify(accept)} does not match the key`);
  }
  if (headers.has('sec-websocket-extensions')) {
    return new RawWsError('WS_HANDSHAKE', 'the server chose an extension, none was offered');
  }
  const protocol = headers.get('sec-websocket-protocol') ?? '';
  if (protocol === '' ? protocols.length > 0 : !protocols.includes(protocol)) {
    return new RawWsError(
      'WS_BAD_PROTOCOL',
      protocol === ''
        ? `the server chose none of ${protocols.join(', ')}`
        : `the server chose ${protocol}, not offered`,
    );
  }
  return protocol;
}
