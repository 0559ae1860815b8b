// The WebSocket framing battery of issue 15: the Autobahn-style cases that apply to a server
// (masking, RSV bits, reserved opcodes, fragmentation, control frames, close codes, UTF-8, sizes),
// fragment floods and permessage-deflate bombs, each on its own raw connection, with the close
// code RFC 6455 asks for. Throughout, a canary subscriber (the centrifuge SDK) receives 20
// publications/s and must lose nothing, and the node must stay ready.
import { deflateRawSync } from 'node:zlib';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { Centrifuge } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { closePayload, frame, RawWebSocket } from './raw-websocket.js';

const secret = 'hostile-ws-secret-0123456789abcdef0123';
const apiKey = 'hostile-ws-api-key-0123456789';
const path = '/connection/websocket';
const TEXT = 1;
const BINARY = 2;
const CONTINUATION = 0;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

let server: RunningServer;
let tried = 0;
const ledger = createLedger();
let canary: Centrifuge;
let publishing: Promise<void>;
let stopPublishing = false;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        websocket: { compression: true },
        channels: { namespaces: { chat: { allowSubscribeForClient: true, historySize: 1000, historyTtlMs: 60_000 } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  canary = new Centrifuge(`ws://127.0.0.1:${server.port}${path}`, {
    websocket: WebSocket,
    token: await signToken({ sub: 'canary' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
  });
  const sub = canary.newSubscription('chat:canary', { recoverable: true });
  let epoch = '';
  sub.on('subscribed', (ctx) => {
    epoch = ctx.streamPosition?.epoch ?? epoch;
  });
  sub.on('publication', (ctx) =>
    ledger.received('canary', 'chat:canary', { offset: ctx.offset ?? -1, epoch, id: (ctx.data as { id: string }).id }),
  );
  ledger.subscribed('canary', 'chat:canary');
  canary.connect();
  sub.subscribe();
  await sub.ready(5000);
  publishing = (async () => {
    for (let i = 0; !stopPublishing; i++) {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/publish`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'chat:canary', data: { id: `c${i}` } }),
      });
      const body = (await res.json()) as { result: { offset: number; epoch: string } };
      ledger.acked('chat:canary', { ...body.result, id: `c${i}` });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
});

afterAll(async () => {
  stopPublishing = true;
  await publishing;
  canary?.disconnect();
  await server?.close();
});

async function closedWith(frames: Buffer[], headers: Record<string, string> = {}): Promise<number | undefined> {
  tried++;
  const ws = await RawWebSocket.open(server.port, path, headers);
  expect(ws.head).toMatch(/^HTTP\/1\.1 101/);
  ws.send(...frames);
  return ws.closeCode();
}

async function expectReady(): Promise<void> {
  expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
}

describe('framing violations close with 1002 (protocol error)', () => {
  it('an unmasked client frame', async () => {
    expect(await closedWith([frame({ opcode: TEXT, payload: '{}', mask: false })])).toBe(1002);
  });

  it('RSV bits without a negotiated extension', async () => {
    for (const rsv of [1, 2, 4, 7]) expect(await closedWith([frame({ opcode: TEXT, payload: '{}', rsv })])).toBe(1002);
  });

  it('every reserved opcode', async () => {
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])
      expect(await closedWith([frame({ opcode })])).toBe(1002);
  });

  it('fragmentation errors: a continuation with nothing to continue, a new message inside a fragmented one', async () => {
    expect(await closedWith([frame({ opcode: CONTINUATION, payload: 'x' })])).toBe(1002);
    expect(
      await closedWith([frame({ opcode: TEXT, payload: '{', fin: false }), frame({ opcode: TEXT, payload: '}' })]),
    ).toBe(1002);
    expect(
      await closedWith([frame({ opcode: BINARY, payload: 'a', fin: false }), frame({ opcode: BINARY, payload: 'b' })]),
    ).toBe(1002);
  });

  it('control frames: payload over 125 bytes, fragmented, and a close with a 1-byte body', async () => {
    expect(await closedWith([frame({ opcode: PING, payload: Buffer.alloc(126) })])).toBe(1002);
    expect(await closedWith([frame({ opcode: PING, payload: 'x', fin: false })])).toBe(1002);
    expect(await closedWith([frame({ opcode: CLOSE, payload: Buffer.from([3]) })])).toBe(1002);
  });

  it('close codes that must not be sent', async () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      expect(await closedWith([frame({ opcode: CLOSE, payload: closePayload(code) })]), `code ${code}`).toBe(1002);
    }
    await expectReady();
  });
});

describe('invalid UTF-8 closes with 1007', () => {
  const bad = [
    Buffer.from([0xff]),
    Buffer.from([0xc0, 0xaf]), // overlong '/'
    Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    Buffer.from([0x7b, 0xe2, 0x82]), // '{' and a truncated '€'
  ];

  it('in a single text frame', async () => {
    for (const payload of bad) expect(await closedWith([frame({ opcode: TEXT, payload })])).toBe(1007);
  });

  it('split across fragments, and in a close reason', async () => {
    const euro = Buffer.from('€');
    expect(
      await closedWith([
        frame({ opcode: TEXT, payload: euro.subarray(0, 1), fin: false }),
        frame({ opcode: CONTINUATION, payload: Buffer.from([0x41]) }),
      ]),
    ).toBe(1007);
    expect(await closedWith([frame({ opcode: CLOSE, payload: closePayload(1000, Buffer.from([0xff, 0xfe])) })])).toBe(
      1007,
    );
    await expectReady();
  });
});

describe('sizes, floods and bombs close with 1009 and leave the node ready', () => {
  it('one frame over websocket.maxFrameBytes, and a header declaring 2^62 bytes', async () => {
    expect(await closedWith([frame({ opcode: TEXT, payload: Buffer.alloc(65_537, 0x20) })])).toBe(1009);
    const huge = Buffer.from([0x81, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect(await closedWith([huge])).toBe(1009);
  });

  it('a fragment flood whose total passes the limit', async () => {
    const frames = [frame({ opcode: TEXT, payload: Buffer.alloc(40, 0x20), fin: false })];
    for (let i = 0; i < 2000; i++)
      frames.push(frame({ opcode: CONTINUATION, payload: Buffer.alloc(40, 0x20), fin: false }));
    expect(await closedWith(frames)).toBe(1009);
  });

  it('a permessage-deflate bomb: 50 KB on the wire inflating to 50 MB', async () => {
    const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    // The server negotiated deflate for this connection, so RSV1 is legal here; the inflated size is not.
    const headers = { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_no_context_takeover' };
    const ws = await RawWebSocket.open(server.port, path, headers);
    tried++;
    expect(ws.head.toLowerCase()).toContain('sec-websocket-extensions: permessage-deflate');
    const rss = process.memoryUsage().rss;
    ws.send(frame({ opcode: TEXT, payload: bomb.subarray(0, bomb.length - 4), rsv: 4 }));
    expect(await ws.closeCode()).toBe(1009);
    // Inflation stopped at the limit: the process did not take the 50 MB.
    expect(process.memoryUsage().rss - rss).toBeLessThan(40 * 1024 * 1024);
    await expectReady();
  });
});

describe('what a conforming client may do still works', () => {
  it('a ping of 125 bytes is answered by a pong with the same payload', async () => {
    tried++;
    const ws = await RawWebSocket.open(server.port, path);
    const payload = Buffer.alloc(125, 7);
    ws.send(frame({ opcode: PING, payload }));
    const pong = await ws.next((f) => f.opcode === PONG);
    expect(pong.payload.equals(payload)).toBe(true);
    ws.socket.destroy();
  });

  it('valid close codes are echoed', async () => {
    for (const code of [1000, 1001, 3000, 4999]) {
      expect(await closedWith([frame({ opcode: CLOSE, payload: closePayload(code, 'bye') })])).toBe(code);
    }
  });

  it('a connect command in three fragments with a ping between them gets its reply', async () => {
    tried++;
    const token = await signToken({ sub: 'fragments' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
    const command = Buffer.from(JSON.stringify({ id: 1, connect: { token } }));
    const third = Math.floor(command.length / 3);
    const ws = await RawWebSocket.open(server.port, path);
    ws.send(
      frame({ opcode: TEXT, payload: command.subarray(0, third), fin: false }),
      frame({ opcode: PING, payload: 'mid' }),
      frame({ opcode: CONTINUATION, payload: command.subarray(third, 2 * third), fin: false }),
      frame({ opcode: CONTINUATION, payload: command.subarray(2 * third) }),
    );
    const reply = await ws.next((f) => f.opcode === TEXT);
    expect(JSON.parse(reply.payload.toString())).toMatchObject({ id: 1, connect: { client: expect.any(String) } });
    ws.socket.destroy();
  });

  it('after every case above: the node is ready and the canary lost nothing', async () => {
    await expectReady();
    // At least 2 s of canary traffic, so the battery ran beside real deliveries.
    while (ledger.check().acked < 40) await new Promise((r) => setTimeout(r, 50));
    stopPublishing = true;
    await publishing;
    const acked = ledger.check().acked;
    const deadline = Date.now() + 10_000;
    while (ledger.check({ expectAll: true }).lost > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const report = ledger.check({ expectAll: true });
    expect(report.ok, formatLedgerReport(report)).toBe(true);
    expect(report.lost, formatLedgerReport(report)).toBe(0);
    expect(acked).toBeGreaterThan(0);
    console.log(
      `hostile WebSocket framing: ${tried} hostile or edge-case connections tried; canary got ${acked} of ${acked}`,
    );
  });
});
