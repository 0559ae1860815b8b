// A raw RFC 6455 client for the hostile-framing tests. Written by hand on purpose: every
// WebSocket library refuses to send the malformed frames (unmasked, reserved opcodes, bad close
// codes, fragmented control frames) these tests must send.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** One frame to send; defaults: FIN set, no RSV bits, masked (as a client must). */
export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array | string;
  readonly fin?: boolean;
  /** RSV1..3 as a 3-bit number (4 = RSV1). */
  readonly rsv?: number;
  readonly mask?: boolean;
}

/** Encodes one frame (RFC 6455 §5.2). */
export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? []);
  const masked = spec.mask ?? true;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f);
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([first, (masked ? 0x80 : 0) | payload.length]);
  else if (payload.length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([header, key, body]);
}

/** A close frame's payload: the 2-byte code and an optional reason. */
export function closePayload(code: number, reason: Uint8Array | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : Buffer.from(reason)]);
}

/** A frame the server sent. */
export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** An upgraded raw connection: write bytes, read the server's frames, learn its close code. */
export class RawWebSocket {
  readonly socket: Socket;
  /** The response head of the upgrade (status line and headers). */
  readonly head: string;
  readonly frames: ServerFrame[] = [];
  /** Resolves when the TCP connection ends, with the server's close code if it sent one. */
  readonly ended: Promise<number | undefined>;
  #buffer: Buffer;
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket, head: string, rest: Buffer) {
    this.socket = socket;
    this.head = head;
    this.#buffer = rest;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    this.ended = new Promise((resolve) => {
      socket.once('close', () => {
        const close = this.frames.find((f) => f.opcode === 8);
        resolve(close !== undefined && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined);
        for (const w of this.#waiters.splice(0)) w();
      });
    });
    socket.on('error', () => undefined);
    this.#parse();
  }

  /** Opens `path` on 127.0.0.1:`port` with an upgrade request; resolves after the response head. */
  static open(port: number, path: string, headers: Record<string, string> = {}): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.once('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
        );
      });
      let data = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        resolve(new RawWebSocket(socket, data.subarray(0, end).toString('latin1'), data.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Waits for the first server frame matching `match`. */
  async next(match: (f: ServerFrame) => boolean, ms = 10_000): Promise<ServerFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      if (this.socket.destroyed) throw new Error('connection closed before the expected frame');
      if (Date.now() > deadline) throw new Error('no matching frame in time');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The close code the server sent, waiting at most `ms` for the connection to end. */
  async closeCode(ms = 10_000): Promise<number | undefined> {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    const code = await Promise.race([this.ended, timer]);
    if (code === 'timeout') {
      this.socket.destroy();
      throw new Error('the server did not close the connection in time');
    }
    return code;
  }

  #parse(): void {
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      this.frames.push({ opcode: (b[0] as number) & 0x0f, payload: b.subarray(offset, offset + length) });
      this.#buffer = b.subarray(offset + length);
      for (const w of this.#waiters.splice(0)) w();
    }
  }
}
