// The MessagePack codec over real WebSockets with a raw `ws` client on the `tidings-msgpack`
// subprotocol: connect, subscribe, receive a publication published through the HTTP API, and a
// malformed frame closing the session with 3501.
import { msgpackCodec, msgpackSubprotocol, type Reply } from '@tidings/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './in-process-server.js';

let test: TestServer;
let url: string;

beforeAll(async () => {
  test = await startTestServer('ws-msgpack', 'feed');
  url = test.wsUrl;
});
afterAll(async () => {
  await test.close();
});

/** A raw client that decodes every binary message with the MessagePack codec. */
function open(): Promise<{ ws: WebSocket; replies: Reply[]; next: (match: (r: Reply) => boolean) => Promise<Reply> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [msgpackSubprotocol]);
    const replies: Reply[] = [];
    const waiters: Array<{ match: (r: Reply) => boolean; resolve: (r: Reply) => void }> = [];
    ws.on('message', (data, isBinary) => {
      expect(isBinary).toBe(true);
      for (const reply of msgpackCodec.decodeReplies(data as Buffer)) {
        replies.push(reply);
        const i = waiters.findIndex((w) => w.match(reply));
        if (i >= 0) waiters.splice(i, 1)[0]?.resolve(reply);
      }
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        replies,
        next: (match) =>
          new Promise((res) => {
            const found = replies.find(match);
            if (found) res(found);
            else waiters.push({ match, resolve: res });
          }),
      }),
    );
  });
}

describe('WebSocket with the tidings-msgpack subprotocol', () => {
  it('connects, subscribes and receives a publication made through the API as bin data', async () => {
    const client = await open();
    expect(client.ws.protocol).toBe(msgpackSubprotocol);
    const token = await test.token('mp');
    client.ws.send(
      msgpackCodec.encodeCommands([
        { id: 1, connect: { token } },
        { id: 2, subscribe: { channel: 'feed:mp' } },
      ]),
    );
    expect((await client.next((r) => r.id === 1)).connect?.client).toBeTypeOf('string');
    expect((await client.next((r) => r.id === 2)).error).toBeUndefined();
    const res = await fetch(`http://127.0.0.1:${test.server.port}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': test.apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'feed:mp', data: { price: 42 } }),
    });
    expect(res.status).toBe(200);
    const push = await client.next((r) => r.push?.pub !== undefined);
    expect(push.push?.channel).toBe('feed:mp');
    expect(JSON.parse(new TextDecoder().decode(push.push?.pub?.data))).toEqual({ price: 42 });
    client.ws.close();
  });

  it('closes a session sending a malformed MessagePack frame with 3501', async () => {
    const client = await open();
    const closed = new Promise<number>((resolve) => client.ws.on('close', (code) => resolve(code)));
    client.ws.send(Uint8Array.of(0x82, 0xa2, 0x69));
    expect(await closed).toBe(3501);
  });
});
