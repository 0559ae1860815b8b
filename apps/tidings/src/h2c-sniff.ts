import type { Server as HttpServer } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Socket } from 'node:net';

/** The client connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4). */
const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Event the HTTP/1.1 server emits for a connection handed to the h2c server (connection tracking). */
export const h2cConnectionEvent = 'tidings:h2c-connection';

/**
 * Lets one cleartext port serve HTTP/1.1 and h2c (HTTP/2 with prior knowledge): the first bytes
 * of each connection are read; a connection starting with the HTTP/2 preface goes to `h2`,
 * anything else to `http1`'s own connection handling. The bytes read are put back
 * (`socket.unshift`) before either server sees the socket: both parse them as if they had just
 * arrived (Node's HTTP/2 session reads what the socket already buffered).
 *
 * `http1` stays the listening server: its `connection` event still fires for every socket (for
 * connection tracking), it emits `h2cConnectionEvent` for the ones handed to `h2`, and it
 * re-emits `h2`'s `session` events. A connection that sends nothing is closed by the HTTP/1.1
 * server's headers timeout, as before, since it stays with `http1` until it decides.
 */
export function shareCleartextPort(http1: HttpServer, h2: Http2Server, headersTimeoutMs: number): void {
  const own = http1.listeners('connection') as Array<(socket: Socket) => void>;
  http1.removeAllListeners('connection');
  const toHttp1 = (socket: Socket): void => {
    for (const listener of own) listener.call(http1, socket);
  };
  h2.on('session', (session) => http1.emit('session', session));
  http1.prependListener('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), headersTimeoutMs);
    timer.unref();
    const decide = (isH2: boolean): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (seen.length > 0) socket.unshift(seen);
      if (isH2) {
        // As the HTTP/1.1 server does for its connections (its `noDelay`): small frames leave at once.
        socket.setNoDelay(true);
        http1.emit(h2cConnectionEvent, socket);
        // The session takes the socket's handle and first reads what the socket buffered.
        h2.emit('connection', socket);
      } else {
        toHttp1(socket);
        socket.resume();
      }
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, preface.length);
      const prefix = seen.subarray(0, n).equals(preface.subarray(0, n));
      if (prefix && seen.length < preface.length) return;
      decide(prefix);
    };
    const onClose = (): void => clearTimeout(timer);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
