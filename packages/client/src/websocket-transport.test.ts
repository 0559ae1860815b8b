import { msgpackSubprotocol, protobufSubprotocol } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { subprotocols } from './websocket-transport.js';

describe('webSocketTransport subprotocols', () => {
  it('match the server-side names in @tidings/protocol', () => {
    expect(subprotocols).toEqual({ protobuf: protobufSubprotocol, msgpack: msgpackSubprotocol });
  });
});
