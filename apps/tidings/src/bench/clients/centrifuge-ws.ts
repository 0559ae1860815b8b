// Centrifuge client protocol v2 over WebSocket (Tidings, the raw-ws peer, any Centrifugo-compatible
// server): connect with the token, subscribe to one channel, answer server pings. Over the bench's
// own WebSocket client (raw-ws.ts), not `ws`: see there why.
import { codecFor, msgpackSubprotocol, protobufSubprotocol, type Reply } from '@tidings/protocol';
import { readSendTime, splitJsonPushes } from '../messages.js';
import { openRawWebSocket } from './raw-ws.js';
import type { AdapterFactory, Subscriber } from './types.js';

const connectId = 1;
const subscribeId = 2;

/**
 * `centrifuge-ws`: `url` is the WebSocket endpoint (`ws://host:port/connection/websocket`).
 * JSON publication pushes are read with a byte scan (splitJsonPushes); replies, pings and every
 * Protobuf or MessagePack frame go through the protocol codec. Commands go out as text frames
 * with the JSON codec, binary frames with the others. Settles on the subscribe reply.
 */
export const createCentrifugeWsAdapter: AdapterFactory = (config, sink) => {
  const codec = codecFor(config.codec);
  const pong = codec.encodeCommands([{}]);
  const connect = codec.encodeCommands([
    {
      id: connectId,
      connect: config.token === undefined ? { name: 'tidings-bench' } : { token: config.token, name: 'tidings-bench' },
    },
  ]);
  const protocols = { json: [], protobuf: [protobufSubprotocol], msgpack: [msgpackSubprotocol] }[config.codec];
  const onPublication = (sent: number): void => sink.delivery(sent);
  return {
    open(channel, localAddress, hooks): Subscriber {
      // Set once we close: the server's close frame is then the answer to ours, not a drop.
      let closing = false;
      let dropped = false;
      const drop = (): void => {
        if (closing || dropped) return;
        dropped = true;
        sink.dropped();
      };
      const send = (data: Uint8Array): void => (codec.binary ? socket.sendBinary(data) : socket.sendText(data));
      const socket = openRawWebSocket(
        { url: config.url, localAddress, protocols },
        {
          open: () => send(connect),
          message: (message) => {
            const data = config.codec === 'json' ? splitJsonPushes(message, onPublication) : message;
            if (data.length === 0) return;
            let replies: Reply[];
            try {
              replies = codec.decodeReplies(data);
            } catch {
              sink.protocolError();
              return;
            }
            for (const reply of replies) {
              const pub = reply.push?.pub;
              if (pub !== undefined) sink.delivery(readSendTime(pub.data));
              else if (reply.id === connectId) {
                if (reply.error !== undefined) hooks.settle(false);
                else send(codec.encodeCommands([{ id: subscribeId, subscribe: { channel } }]));
              } else if (reply.id === subscribeId) hooks.settle(reply.error === undefined);
              else if (reply.id === undefined && reply.push === undefined) send(pong);
              else if (reply.push?.unsubscribe !== undefined || reply.push?.disconnect !== undefined) drop();
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
        close: () => {
          closing = true;
          socket.close(1000);
        },
        destroy: () => socket.destroy(),
      };
    },
  };
};
