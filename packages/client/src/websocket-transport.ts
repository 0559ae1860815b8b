import type { ClientCodec } from '@tidings/protocol';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** The part of the WHATWG WebSocket constructor the transport uses (browsers, React Native, `ws`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The part of a WebSocket instance the transport uses. */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Options of {@link webSocketTransport}. */
export interface WebSocketTransportOptions {
  /** `ws(s)://host/connection/websocket`. */
  readonly url: string;
  /** Wire codec; Protobuf and MessagePack select their subprotocol. */
  readonly codec: ClientCodec;
  /** WebSocket constructor; default `globalThis.WebSocket` (Node 20 has none: pass `ws`). */
  readonly WebSocket?: WebSocketConstructor;
}

/**
 * The subprotocols of `@tidings/protocol`'s `protobufSubprotocol` / `msgpackSubprotocol`, spelled
 * here because importing them pulls every codec into a JSON-only bundle (websocket-transport.test.ts
 * checks they are equal).
 */
export const subprotocols = { protobuf: 'centrifuge-protobuf', msgpack: 'tidings-msgpack' } as const;

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * A WebSocket transport factory. JSON goes in text frames, Protobuf and MessagePack in binary
 * frames. Throws `TypeError` at `open` when no WebSocket constructor is available.
 */
export function webSocketTransport(options: WebSocketTransportOptions): TransportFactory {
  const { codec, url } = options;
  const protocol = codec.name === 'json' ? undefined : subprotocols[codec.name];
  return {
    name: `websocket-${codec.name}`,
    codec,
    open(handlers: TransportHandlers): Transport {
      const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (Ctor === undefined) throw new TypeError('no WebSocket constructor: pass one in the WebSocket option');
      const ws = protocol === undefined ? new Ctor(url) : new Ctor(url, protocol);
      ws.binaryType = 'arraybuffer';
      let closed = false;
      ws.onopen = () => handlers.onOpen();
      ws.onmessage = (ev) => {
        const { data } = ev;
        if (typeof data === 'string') handlers.onMessage(utf8Encoder.encode(data));
        else if (data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(data));
        else if (ArrayBuffer.isView(data))
          handlers.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      };
      ws.onclose = (ev) => {
        if (closed) return;
        closed = true;
        handlers.onClose(ev.code, ev.reason);
      };
      // An error is always followed by close; the close carries the code.
      ws.onerror = () => {};
      return {
        name: `websocket-${codec.name}`,
        send(frame) {
          ws.send(codec.binary ? frame : utf8Decoder.decode(frame));
        },
        close() {
          if (closed) return;
          closed = true;
          ws.close(1000, '');
        },
      };
    },
  };
}
