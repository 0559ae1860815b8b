// Socket.IO 4 subscribers (bench/peers/socketio-server.mjs): socket.io-client, websocket transport
// only, one connection each, join the channel's room with a `subscribe` event and its ack.
import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { AdapterFactory, Subscriber } from './types.js';

/** Event the peer emits for every publication; its argument is the published JSON data. */
export const socketIoPublicationEvent = 'pub';

/**
 * `socketio`: `url` is the server's origin (`http://host:port`; the default `/socket.io/` path).
 * Settles on the `subscribe` ack. socket.io-client decodes each packet itself (a JSON parse per
 * delivery we cannot avoid without replacing the client); the send time is then the data's `t`.
 * Automatic reconnection is off, so a dropped connection is counted, not hidden.
 */
export const createSocketIoAdapter: AdapterFactory = (config, sink) => ({
  open(channel, localAddress, hooks): Subscriber {
    // `localAddress` is passed down to the `ws` socket by engine.io-client but is missing from its types.
    const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      localAddress,
      ...(config.token === undefined ? {} : { auth: { token: config.token } }),
    };
    const socket = io(config.url, options);
    socket.on('connect', () => {
      socket.emit('subscribe', channel, (reply: unknown) => {
        hooks.settle(typeof reply === 'object' && reply !== null && !('error' in reply));
      });
    });
    socket.on(socketIoPublicationEvent, (data: unknown) => {
      const t = (data as { t?: unknown } | null)?.t;
      sink.delivery(typeof t === 'number' ? t : -1);
    });
    socket.on('connect_error', () => {
      hooks.settle(false);
      hooks.closed();
    });
    socket.on('disconnect', () => hooks.closed());
    return {
      close: () => socket.disconnect(),
      destroy: () => {
        socket.disconnect();
        socket.io.engine?.close();
      },
    };
  },
});
