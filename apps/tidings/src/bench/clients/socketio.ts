// Socket.IO 4 subscribers (bench/peers/socketio-server.mjs), spoken directly: Engine.IO v4 and
// the Socket.IO v5 packet format over a WebSocket of the bench's own client (raw-ws.ts), websocket
// transport only, one connection each, joining the channel's room with a `subscribe` event and its
// ack. Not socket.io-client: it parses every packet (a JSON parse per delivery) and sets up a
// Manager and an engine per connection, so the load core, not the server, set the figures; here
// a publication is recognized by its prefix and its send time found with a byte scan.
//
// The exchange (https://socket.io/docs/v4/socket-io-protocol/, engine-io-protocol/):
//   server → `0{"sid":…,"pingInterval":…}`  Engine.IO open
//   client → `40` or `40{"token":…}`        Socket.IO CONNECT to `/`, with the auth payload
//   server → `40{"sid":…}`                  connected (or `44{"message":…}`, CONNECT_ERROR)
//   client → `421["subscribe","<channel>"]` EVENT with ack id 1
//   server → `431[{}]`                      its ACK (`431[{"error":…}]` when refused)
//   server → `42["pub",{…}]`                every publication
//   server → `2`, client → `3`              Engine.IO ping and pong
import { findSendTime } from '../messages.js';
import { ascii, hasPrefix } from './line-stream.js';
import { openRawWebSocket } from './raw-ws.js';
import type { AdapterFactory, Subscriber } from './types.js';

/** Event the peer emits for every publication; its argument is the published JSON data. */
export const socketIoPublicationEvent = 'pub';

const publication = ascii(`42["${socketIoPublicationEvent}",`);
const subscribeAck = ascii('431[');
const engineOpen = 0x30; // '0'
const engineClose = 0x31; // '1'
const enginePing = 0x32; // '2'
const engineMessage = 0x34; // '4'
const connectPacket = 0x30; // '0' after '4'
const disconnectPacket = 0x31;
const connectErrorPacket = 0x34;

/** The Engine.IO WebSocket endpoint of a Socket.IO origin (`http://host:port`, default path). */
export function socketIoUrl(origin: string): URL {
  const url = new URL('/socket.io/', origin);
  url.searchParams.set('EIO', '4');
  url.searchParams.set('transport', 'websocket');
  return url;
}

/** Whether a subscribe ack's JSON arguments (`[{}]`, `[{"error":…}]`) mean success. */
export function ackSucceeded(args: string): boolean {
  try {
    const parsed: unknown = JSON.parse(args);
    const reply = Array.isArray(parsed) ? (parsed[0] as unknown) : undefined;
    return typeof reply === 'object' && reply !== null && !('error' in reply);
  } catch {
    return false;
  }
}

/**
 * `socketio`: `url` is the server's origin (`http://host:port`; the default `/socket.io/` path).
 * Settles on the `subscribe` ack. A dropped connection is counted, never reconnected.
 */
export const createSocketIoAdapter: AdapterFactory = (config, sink) => {
  const url = socketIoUrl(config.url);
  const connect = config.token === undefined ? '40' : `40${JSON.stringify({ token: config.token })}`;
  return {
    open(channel, localAddress, hooks): Subscriber {
      const subscribe = `421${JSON.stringify(['subscribe', channel])}`;
      let subscribed = false;
      let closing = false;
      let dropped = false;
      const drop = (): void => {
        if (!subscribed || closing || dropped) return;
        dropped = true;
        sink.dropped();
      };
      /** A Socket.IO packet other than a publication (`4…`). */
      const onPacket = (data: Buffer): void => {
        if (hasPrefix(data, 0, data.length, subscribeAck)) {
          subscribed = ackSucceeded(data.toString('utf8', 3));
          hooks.settle(subscribed);
        } else if (data[1] === connectPacket) socket.sendText(subscribe);
        else if (data[1] === connectErrorPacket || data[1] === disconnectPacket) {
          drop();
          hooks.settle(false);
          socket.close(1000);
        }
      };
      const socket = openRawWebSocket(
        { url, localAddress },
        {
          message: (data) => {
            const end = data.length;
            if (hasPrefix(data, 0, end, publication)) {
              sink.delivery(findSendTime(data, publication.length, end));
              return;
            }
            const type = data[0];
            if (type === engineMessage) onPacket(data);
            else if (type === enginePing) socket.sendText('3');
            else if (type === engineOpen) socket.sendText(connect);
            else if (type === engineClose) {
              drop();
              socket.close(1000);
            }
          },
          serverClose: (code) => {
            if (code !== 1000) drop();
          },
          error: () => hooks.settle(false),
          closed: () => hooks.closed(),
        },
      );
      return {
        // Like socket.io-client's disconnect(): leave the namespace (`41`), then close the WebSocket.
        close: () => {
          closing = true;
          socket.sendText('41');
          socket.close(1000);
        },
        destroy: () => socket.destroy(),
      };
    },
  };
};
