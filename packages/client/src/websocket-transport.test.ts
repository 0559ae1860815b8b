import { jsonCodec, msgpackSubprotocol, protobufCodec, protobufSubprotocol } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { subprotocols, type WebSocketLike, webSocketTransport } from './websocket-transport.js';

describe('webSocketTransport subprotocols', () => {
  it('match the server-side names in @tidings/protocol', () => {
    expect(subprotocols).toEqual({ protobuf: protobufSubprotocol, msgpack: msgpackSubprotocol });
  });
});

/** A fake WebSocket recording what it was built with and sent. */
function fakeSocket() {
  const made: Array<FakeWs> = [];
  class FakeWs implements WebSocketLike {
    binaryType = 'blob';
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    sent: Array<string | Uint8Array> = [];
    closedWith: number | undefined;
    constructor(
      readonly url: string,
      readonly protocols?: string | string[],
    ) {
      made.push(this);
    }
    send(data: string | Uint8Array) {
      this.sent.push(data);
    }
    close(code?: number) {
      this.closedWith = code;
    }
  }
  return { made, FakeWs };
}

describe('webSocketTransport', () => {
  it('JSON: no subprotocol, text frames out, text and binary frames in, one onClose', () => {
    const { made, FakeWs } = fakeSocket();
    const events: string[] = [];
    const t = webSocketTransport({ url: 'ws://h/connection/websocket', codec: jsonCodec, WebSocket: FakeWs }).open({
      onOpen: () => events.push('open'),
      onMessage: (f) => events.push(`msg:${new TextDecoder().decode(f)}`),
      onClose: (code) => events.push(`close:${code}`),
    });
    const ws = made[0] as InstanceType<typeof FakeWs>;
    expect(ws.protocols).toBeUndefined();
    expect(ws.binaryType).toBe('arraybuffer');
    ws.onopen?.({});
    t.send(new TextEncoder().encode('{"id":1,"connect":{}}'));
    expect(ws.sent).toEqual(['{"id":1,"connect":{}}']);
    ws.onmessage?.({ data: '{"id":1}' });
    ws.onmessage?.({ data: new TextEncoder().encode('{"id":2}').buffer });
    ws.onclose?.({ code: 1006, reason: '' });
    ws.onclose?.({ code: 1006, reason: '' });
    expect(events).toEqual(['open', 'msg:{"id":1}', 'msg:{"id":2}', 'close:1006']);
  });

  it('Protobuf: its subprotocol and binary frames; close() reports nothing back', () => {
    const { made, FakeWs } = fakeSocket();
    const events: string[] = [];
    const t = webSocketTransport({ url: 'ws://h', codec: protobufCodec, WebSocket: FakeWs }).open({
      onOpen: () => {},
      onMessage: () => {},
      onClose: () => events.push('close'),
    });
    const ws = made[0] as InstanceType<typeof FakeWs>;
    expect(ws.protocols).toBe(protobufSubprotocol);
    const frame = new Uint8Array([1, 2, 3]);
    t.send(frame);
    expect(ws.sent[0]).toBe(frame);
    t.close();
    ws.onclose?.({ code: 1000, reason: '' });
    expect(ws.closedWith).toBe(1000);
    expect(events).toEqual([]);
  });

  it('throws TypeError at open when the platform has no WebSocket', () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = undefined;
    try {
      const f = webSocketTransport({ url: 'ws://h', codec: jsonCodec });
      expect(() => f.open({ onOpen() {}, onMessage() {}, onClose() {} })).toThrow(TypeError);
    } finally {
      g.WebSocket = saved;
    }
  });
});
