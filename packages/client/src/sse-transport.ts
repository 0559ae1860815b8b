import type { ClientCodec } from '@tidings/protocol';
import { EmulationLink, type FetchLike, resolveFetch, withQuery } from './http.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** The part of the WHATWG EventSource constructor the SSE transport uses (browsers, `eventsource`). */
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** The part of an EventSource instance the SSE transport uses. */
export interface EventSourceLike {
  onmessage: ((ev: { data: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

/** Options of {@link sseTransport}. */
export interface SseTransportOptions {
  /** `http(s)://host/connection/sse` (the server's `emulation.ssePath`). */
  readonly url: string;
  /** `http(s)://host/emulation`, where commands after connect are POSTed. */
  readonly emulationUrl: string;
  /** Must be `jsonCodec`: the SSE emulation speaks JSON only. */
  readonly codec: ClientCodec;
  /** EventSource constructor; default `globalThis.EventSource` (Node: the `eventsource` package). */
  readonly EventSource?: EventSourceConstructor;
  readonly fetch?: FetchLike;
  /** Send cookies cross-origin (EventSource `withCredentials`, fetch `credentials: 'include'`). */
  readonly withCredentials?: boolean;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * Bidirectional emulation over Server-Sent Events, for networks that block WebSocket upgrades:
 * the connect command opens `GET <url>?cf_connect=<command>`, whose events carry the session's
 * replies and pushes; every later command goes to `POST <emulationUrl>`. JSON only. Any stream
 * error ends the transport (EventSource's own reconnect would open a new session): the client
 * reconnects and resumes.
 */
export function sseTransport(options: SseTransportOptions): TransportFactory {
  if (options.codec.name !== 'json') throw new TypeError('sseTransport: the SSE emulation speaks JSON only');
  return {
    name: 'sse',
    codec: options.codec,
    open(handlers: TransportHandlers): Transport {
      const Ctor = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (Ctor === undefined) throw new TypeError('no EventSource: pass one in the EventSource option');
      const credentials = options.withCredentials === true ? 'include' : 'same-origin';
      let source: EventSourceLike | undefined;
      let closed = false;
      const end = (reason: string) => {
        if (closed) return;
        closed = true;
        source?.close();
        link.close();
        handlers.onClose(0, reason);
      };
      const link = new EmulationLink(options.emulationUrl, resolveFetch(options.fetch), credentials, end);
      // After `open` returned, so the client holds the transport when it sends the connect command.
      void Promise.resolve().then(() => closed || handlers.onOpen());
      return {
        name: 'sse',
        send(frame) {
          if (closed) return;
          const command = text.decode(frame);
          if (source !== undefined) return link.send(command);
          const es = new Ctor(withQuery(options.url, 'cf_connect', command), {
            withCredentials: options.withCredentials === true,
          });
          source = es;
          es.onmessage = (ev) => {
            if (closed) return;
            link.observe(ev.data);
            handlers.onMessage(utf8.encode(ev.data));
          };
          es.onerror = () => end('sse stream error');
        },
        close() {
          if (closed) return;
          closed = true;
          source?.close();
          link.close();
        },
      };
    },
  };
}
