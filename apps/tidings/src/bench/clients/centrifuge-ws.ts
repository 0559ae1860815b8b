// Centrifuge client protocol v2 over WebSocket (Tidings, the raw-ws peer, any Centrifugo-compatible
// server): connect with the token, subscribe to one channel, answer server pings.
import { codecFor, msgpackSubprotocol, protobufSubprotocol, type Reply } from '@tidings/protocol';
import WebSocket from 'ws';
import { readSendTime, splitJsonPushes } from '../messages.js';
import type { AdapterFactory, Subscriber } from './types.js';

const connectId = 1;
const subscribeId = 2;

/**
 * `centrifuge-ws`: `url` is the WebSocket endpoint (`ws://host:port/connection/websocket`).
 * JSON publication pushes are read with a byte scan (splitJsonPushes); replies, pings and every
 * Protobuf frame go through the protocol codec. Settles on the subscribe reply.
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
      const socket = new WebSocket(config.url, protocols, { localAddress, perMessageDeflate: false });
      socket.binaryType = 'nodebuffer';
      socket.on('open', () => socket.send(connect));
      socket.on('message', (message: Buffer) => {
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
            else socket.send(codec.encodeCommands([{ id: subscribeId, subscribe: { channel } }]));
          } else if (reply.id === subscribeId) hooks.settle(reply.error === undefined);
          else if (reply.id === undefined && reply.push === undefined) socket.send(pong);
        }
      });
      socket.on('error', () => hooks.settle(false));
      socket.on('close', () => hooks.closed());
      return {
        close: () => socket.close(1000),
        destroy: () => socket.terminate(),
      };
    },
  };
};
