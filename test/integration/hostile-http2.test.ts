// HTTP/2 floods of issue 15 against the h2c listener (the same nghttp2 session handling serves
// h2 over TLS): rapid reset (CVE-2023-44487: HEADERS + RST_STREAM pairs), SETTINGS, PING,
// WINDOW_UPDATE and empty-DATA floods (CVE-2019-9512/9515/9518 and kin). Frames are written by
// hand on a raw socket because a conforming HTTP/2 client cannot be made to send them. Each
// attacker must get a GOAWAY or be cut off; meanwhile an NDJSON canary on its own h2 session
// receives 20 publications/s and must lose nothing, and /readyz stays 200.
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'hostile-h2-secret-0123456789abcdef0123';
const apiKey = 'hostile-h2-api-key-0123456789';
const channel = 'chat:h2canary';

let server: RunningServer;
let canarySession: ClientHttp2Session;
let apiSession: ClientHttp2Session;
const ledger = createLedger();
let stop = false;
let publishing: Promise<void>;
let reading: Promise<void>;
let framesSent = 0;

const h2 = () => h2connect(`http://127.0.0.1:${server.port}`);

function request(
  s: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = s.request(headers);
    let text = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => resolve({ status, text }));
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0, h2c: true },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: { namespaces: { chat: { allowSubscribeForClient: true, historySize: 1000, historyTtlMs: 60_000 } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  canarySession = h2();
  apiSession = h2();
  const token = await signToken({ sub: 'canary' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  const stream = canarySession.request({
    ':path': `/connection/stream?channel=${channel}`,
    authorization: `Bearer ${token}`,
  });
  stream.setEncoding('utf8');
  ledger.subscribed('canary', channel);
  let connected: () => void;
  const ready = new Promise<void>((r) => {
    connected = r;
  });
  reading = new Promise<void>((resolve) => {
    let buffer = '';
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let at = buffer.indexOf('\n');
      while (at >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        at = buffer.indexOf('\n');
        if (line === '') continue;
        const e = JSON.parse(line) as { type: string; offset: number; epoch: string; data: { id: string } };
        if (e.type === 'connected') connected();
        if (e.type === 'publication')
          ledger.received('canary', channel, { offset: e.offset, epoch: e.epoch, id: e.data.id });
      }
    });
    stream.on('close', () => resolve());
  });
  await ready;
  publishing = (async () => {
    for (let i = 0; !stop; i++) {
      const res = await request(
        apiSession,
        { ':method': 'POST', ':path': '/api/publish', 'x-api-key': apiKey, 'content-type': 'application/json' },
        JSON.stringify({ channel, data: { id: `c${i}` } }),
      );
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text) as { result: { offset: number; epoch: string } };
      ledger.acked(channel, { ...body.result, id: `c${i}` });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
});

afterAll(async () => {
  stop = true;
  await publishing;
  canarySession?.destroy();
  apiSession?.destroy();
  await reading;
  await server?.close();
});

/** An HTTP/2 frame (RFC 9113 §4.1). */
function h2frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

/** An HPACK block for `method path` using static-table indexes and literals without indexing (RFC 7541). */
function headerBlock(method: 'GET' | 'POST', path: string): Buffer {
  const authority = '127.0.0.1';
  return Buffer.concat([
    Buffer.from([method === 'GET' ? 0x82 : 0x83, 0x86, 0x04, path.length]),
    Buffer.from(path),
    Buffer.from([0x01, authority.length]),
    Buffer.from(authority),
  ]);
}

/** Sends the preface and `attack`'s frames on a raw socket; resolves with what the server did. */
async function attack(frames: Buffer[]): Promise<{ goaway: number | undefined; closed: boolean }> {
  framesSent += frames.length;
  const socket = connect(server.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let got = Buffer.alloc(0);
  let goaway: number | undefined;
  let onGoaway: () => void = () => undefined;
  const sawGoaway = new Promise<void>((r) => {
    onGoaway = r;
  });
  socket.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    while (got.length >= 9) {
      const length = got.readUIntBE(0, 3);
      if (got.length < 9 + length) break;
      if (got[3] === GOAWAY) {
        goaway = got.readUInt32BE(13);
        onGoaway();
      }
      got = got.subarray(9 + length);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2frame(SETTINGS, 0, 0)]));
  socket.write(Buffer.concat(frames));
  await Promise.race([Promise.any([sawGoaway, closed]), new Promise((r) => setTimeout(r, 15_000))]);
  const wasClosed = socket.destroyed || socket.readableEnded;
  socket.destroy();
  return { goaway, closed: wasClosed };
}

async function expectHealthy(): Promise<void> {
  const s = h2();
  try {
    expect((await request(s, { ':path': '/readyz' })).status).toBe(200);
  } finally {
    s.destroy();
  }
}

describe('HTTP/2 floods', () => {
  it('rapid reset: 20,000 HEADERS + RST_STREAM pairs get a GOAWAY', async () => {
    const frames: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = 1 + 2 * i;
      frames.push(h2frame(HEADERS, END_HEADERS | END_STREAM, id, headerBlock('GET', '/healthz')));
      frames.push(h2frame(RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    const outcome = await attack(frames);
    expect(outcome.goaway !== undefined || outcome.closed, JSON.stringify(outcome)).toBe(true);
    await expectHealthy();
  });

  it('SETTINGS, PING and WINDOW_UPDATE floods end the attacker session', async () => {
    const floods = {
      settings: Array.from({ length: 100_000 }, () => h2frame(SETTINGS, 0, 0)),
      ping: Array.from({ length: 100_000 }, () => h2frame(PING, 0, 0, Buffer.alloc(8))),
      'zero window update': Array.from({ length: 10_000 }, () => h2frame(WINDOW_UPDATE, 0, 0, Buffer.alloc(4))),
    };
    for (const [name, frames] of Object.entries(floods)) {
      const outcome = await attack(frames);
      expect(outcome.goaway !== undefined || outcome.closed, `${name}: ${JSON.stringify(outcome)}`).toBe(true);
    }
    await expectHealthy();
  });

  it('a flood of empty DATA frames on one request ends the attacker session', async () => {
    const frames = [h2frame(HEADERS, END_HEADERS, 1, headerBlock('POST', '/api/publish'))];
    for (let i = 0; i < 100_000; i++) frames.push(h2frame(DATA, 0, 1));
    const outcome = await attack(frames);
    expect(outcome.goaway !== undefined || outcome.closed, JSON.stringify(outcome)).toBe(true);
    await expectHealthy();
  });

  it('the canary on its own h2 session lost nothing meanwhile', async () => {
    while (ledger.check().acked < 40) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await publishing;
    const deadline = Date.now() + 10_000;
    while (ledger.check({ expectAll: true }).lost > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const report = ledger.check({ expectAll: true });
    expect(report.ok, formatLedgerReport(report)).toBe(true);
    console.log(
      `hostile HTTP/2: ${framesSent} attack frames sent on 5 sessions; canary got ${report.acked} of ${report.acked}`,
    );
  });
});
