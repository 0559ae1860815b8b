// Nchan (nginx module) subscribers, as configured in bench/peers/nchan.conf: the subscriber
// location answers a WebSocket upgrade or an EventSource request (`Accept: text/event-stream`),
// the channel is its `id` query parameter, and each message is the published body as is.
// WebSocket subscribers use the bench's own client (raw-ws.ts), not `ws`: see there why.
import { readSendTime } from '../messages.js';
import { ascii, hasPrefix, openLineStream } from './line-stream.js';
import { openRawWebSocket } from './raw-ws.js';
import type { AdapterFactory, Subscriber } from './types.js';

const dataField = ascii('data:');

function channelUrl(base: string, channel: string): URL {
  const url = new URL(base);
  url.searchParams.set('id', channel);
  return url;
}

/**
 * `nchan-ws`: `url` is the subscriber location (`ws://host:port/sub`). Nchan registers the
 * subscriber while answering the upgrade, so the subscriber settles on the handshake; every
 * text frame is one message.
 */
export const createNchanWsAdapter: AdapterFactory = (config, sink) => ({
  open(channel, localAddress, hooks): Subscriber {
    let closing = false;
    const socket = openRawWebSocket(
      { url: channelUrl(config.url, channel), localAddress },
      {
        open: () => hooks.settle(true),
        message: (message) => sink.delivery(readSendTime(message)),
        serverClose: (code) => {
          if (!closing && code !== 1000) sink.dropped();
        },
        error: () => hooks.settle(false),
        closed: () => hooks.closed(),
      },
    );
    return {
      close: () => {
        closing = true;
        socket.close(1000);
      },
      destroy: () => socket.destroy(),
    };
  },
});

/**
 * `nchan-sse`: `url` is the subscriber location (`http://host:port/sub`), read as an EventSource
 * stream. Settles on the 200 response head (Nchan has subscribed it by then); each `data:` line is
 * one message.
 */
export const createNchanSseAdapter: AdapterFactory = (config, sink) => ({
  open(channel, localAddress, hooks): Subscriber {
    return openLineStream(channelUrl(config.url, channel), { Accept: 'text/event-stream' }, localAddress, {
      response: (status) => hooks.settle(status === 200),
      line: (buf, start, end) => {
        if (!hasPrefix(buf, start, end, dataField)) return;
        const at = buf[start + dataField.length] === 0x20 ? start + dataField.length + 1 : start + dataField.length;
        sink.delivery(readSendTime(buf.subarray(at, end)));
      },
      closed: () => hooks.closed(),
    });
  },
});
