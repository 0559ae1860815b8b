// Tidings' one-way transports (docs/transports.md): `GET /connection/sse` (text/event-stream) and
// `GET /connection/stream` (NDJSON), one channel per subscriber, the token as a Bearer header.
import { findSendTime } from '../messages.js';
import { ascii, hasPrefix, openLineStream } from './line-stream.js';
import type { AdapterConfig, AdapterFactory, DeliverySink, SubscriberHooks } from './types.js';

const dataField = ascii('data:');
const publication = ascii('{"type":"publication"');
const connected = ascii('{"type":"connected"');
// The server's last event when it ends a stream on purpose (docs/transports.md); we never ask it
// to, so every `end` is a subscription the server dropped (3008 slow consumer, 3010, ...).
const ended = ascii('{"type":"end"');

function streamUrl(config: AdapterConfig, channel: string): URL {
  const url = new URL(config.url);
  url.searchParams.append('channel', channel);
  return url;
}

function headers(config: AdapterConfig, accept: string): Record<string, string> {
  return config.token === undefined ? { Accept: accept } : { Accept: accept, Authorization: `Bearer ${config.token}` };
}

/** Handles one event object `buf[at, end)`: settles on `connected`, counts `publication`s and `end`s. */
function onEvent(buf: Buffer, at: number, end: number, sink: DeliverySink, hooks: SubscriberHooks): void {
  if (hasPrefix(buf, at, end, publication)) sink.delivery(findSendTime(buf, at + publication.length, end));
  else if (hasPrefix(buf, at, end, connected)) hooks.settle(true);
  else if (hasPrefix(buf, at, end, ended)) sink.dropped();
}

/**
 * `tidings-sse`: `url` is the SSE endpoint (`http://host:port/connection/sse`). Reads only `data:`
 * lines (every event is one line of JSON); settles on the `connected` event.
 */
export const createTidingsSseAdapter: AdapterFactory = (config, sink) => {
  const head = headers(config, 'text/event-stream');
  return {
    open(channel, localAddress, hooks) {
      return openLineStream(streamUrl(config, channel), head, localAddress, {
        response: (status) => {
          if (status !== 200) hooks.settle(false);
        },
        line: (buf, start, end) => {
          if (!hasPrefix(buf, start, end, dataField)) return;
          let at = start + dataField.length;
          if (buf[at] === 0x20) at++;
          onEvent(buf, at, end, sink, hooks);
        },
        closed: () => hooks.closed(),
      });
    },
  };
};

/**
 * `tidings-ndjson`: `url` is the stream endpoint (`http://host:port/connection/stream`), one JSON
 * object a line; settles on the `connected` line.
 */
export const createTidingsNdjsonAdapter: AdapterFactory = (config, sink) => {
  const head = headers(config, 'application/x-ndjson');
  return {
    open(channel, localAddress, hooks) {
      return openLineStream(streamUrl(config, channel), head, localAddress, {
        response: (status) => {
          if (status !== 200) hooks.settle(false);
        },
        line: (buf, start, end) => onEvent(buf, start, end, sink, hooks),
        closed: () => hooks.closed(),
      });
    },
  };
};
