import type { ClientCodec } from '@tidings/protocol';
import { EmulationLink, type FetchLike, resolveFetch } from './http.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** Options of {@link fetchStreamTransport}. */
export interface FetchStreamTransportOptions {
  /** `http(s)://host/connection/http_stream`. */
  readonly url: string;
  /** `http(s)://host/emulation`, where commands after connect are POSTed. */
  readonly emulationUrl: string;
  /** Must be `jsonCodec`: the stream is NDJSON (one reply a line). */
  readonly codec: ClientCodec;
  /** `fetch` with streaming response bodies; default `globalThis.fetch` (not React Native's). */
  readonly fetch?: FetchLike;
  readonly withCredentials?: boolean;
}

const utf8 = new TextEncoder();

/**
 * Bidirectional emulation over an NDJSON fetch stream: the connect command is the body of
 * `POST <url>`, whose streamed response holds one reply or push a line; every later command goes
 * to `POST <emulationUrl>`. Needs a `fetch` whose response body is a ReadableStream.
 */
export function fetchStreamTransport(options: FetchStreamTransportOptions): TransportFactory {
  if (options.codec.name !== 'json') throw new TypeError('fetchStreamTransport: the stream is NDJSON, JSON only');
  return {
    name: 'http-stream',
    codec: options.codec,
    open(handlers: TransportHandlers): Transport {
      const fetch = resolveFetch(options.fetch);
      const credentials = options.withCredentials === true ? 'include' : 'same-origin';
      const abort = new AbortController();
      let started = false;
      let closed = false;
      const end = (reason: string) => {
        if (closed) return;
        closed = true;
        abort.abort();
        link.close();
        handlers.onClose(0, reason);
      };
      const link = new EmulationLink(options.emulationUrl, fetch, credentials, end);
      const read = async (connect: string) => {
        const res = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: connect,
          signal: abort.signal,
          credentials,
        });
        if (!res.ok || res.body === null) return end(`http_stream answered ${res.status}`);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffered = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (closed) return void reader.cancel().catch(() => {});
          if (done) return end('http_stream ended');
          buffered += decoder.decode(value, { stream: true });
          const lf = buffered.lastIndexOf('\n');
          if (lf < 0) continue;
          const lines = buffered.slice(0, lf);
          buffered = buffered.slice(lf + 1);
          link.observe(lines);
          handlers.onMessage(utf8.encode(lines));
        }
      };
      void Promise.resolve().then(() => closed || handlers.onOpen());
      return {
        name: 'http-stream',
        send(frame) {
          if (closed) return;
          const command = new TextDecoder().decode(frame);
          if (started) return link.send(command);
          started = true;
          read(command).catch(() => end('http_stream failed'));
        },
        close() {
          if (closed) return;
          closed = true;
          abort.abort();
          link.close();
        },
      };
    },
  };
}
