// Compression of one-way streams (http.compression): only for clients whose Accept-Encoding asks,
// br preferred over gzip, and flushed per event so a streaming decompressor reads each event
// while the stream is still open.
import { get, type IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const apiKey = 'compression-api-key-0123456789';
const servers: RunningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(compression: boolean): Promise<RunningServer> {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0, compression },
      client: { allowAnonymous: true },
      api: { keys: [apiKey] },
      channels: { namespaces: { live: { allowSubscribeForAnonymous: true } } },
      log: { level: 'error' },
    },
  });
  const server = await startServer(config, { logger: silentLogger });
  servers.push(server);
  return server;
}

/** A raw GET (no automatic decoding) whose body is decoded by a streaming decompressor, if any. */
class DecodedStream {
  text = '';
  ended = false;
  readonly #waiters: Array<() => void> = [];
  constructor(readonly res: IncomingMessage) {
    const coding = res.headers['content-encoding'];
    const body =
      coding === 'gzip' ? res.pipe(createGunzip()) : coding === 'br' ? res.pipe(createBrotliDecompress()) : res;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      this.text += chunk;
      for (const w of this.#waiters.splice(0)) w();
    });
    res.on('end', () => {
      this.ended = true;
    });
  }

  static open(url: string, headers: Record<string, string>): Promise<DecodedStream> {
    return new Promise((resolve, reject) => {
      get(url, { headers }, (res) => resolve(new DecodedStream(res))).on('error', reject);
    });
  }

  async waitFor(fragment: string, timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(fragment)) {
      if (Date.now() > deadline) throw new Error(`no ${fragment} in ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.res.destroy();
  }
}

async function publish(server: RunningServer, data: unknown): Promise<void> {
  const res = await fetch(`${server.url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: 'live:a', data }),
  });
  expect(res.status).toBe(200);
}

describe('one-way stream compression', () => {
  const cases = [
    { path: '/connection/stream', accept: 'gzip', coding: 'gzip' },
    { path: '/connection/stream', accept: 'gzip, deflate, br', coding: 'br' },
    { path: '/connection/sse', accept: 'br;q=0.5, gzip', coding: 'gzip' },
    { path: '/connection/sse', accept: 'br', coding: 'br' },
  ];
  for (const { path, accept, coding } of cases) {
    it(`${path} with Accept-Encoding "${accept}" is ${coding}, each event decodable before the end`, async () => {
      const server = await start(true);
      const stream = await DecodedStream.open(`${server.url}${path}?channel=live:a`, { 'accept-encoding': accept });
      expect(stream.res.statusCode).toBe(200);
      expect(stream.res.headers['content-encoding']).toBe(coding);
      expect(stream.res.headers.vary).toMatch(/accept-encoding/i);
      await stream.waitFor('"type":"connected"');
      await publish(server, { n: 1 });
      await stream.waitFor('"data":{"n":1}');
      await publish(server, { n: 2 });
      await stream.waitFor('"data":{"n":2}');
      expect(stream.ended).toBe(false);
      stream.close();
    });
  }

  it('does not compress without Accept-Encoding, nor with identity only', async () => {
    const server = await start(true);
    for (const headers of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip;q=0, br;q=0' }]) {
      const stream = await DecodedStream.open(`${server.url}/connection/stream?channel=live:a`, headers);
      expect(stream.res.headers['content-encoding']).toBeUndefined();
      await stream.waitFor('"type":"connected"');
      stream.close();
    }
  });

  it('does not compress when http.compression is off, whatever the client asks', async () => {
    const server = await start(false);
    const stream = await DecodedStream.open(`${server.url}/connection/stream?channel=live:a`, {
      'accept-encoding': 'gzip, br',
    });
    expect(stream.res.headers['content-encoding']).toBeUndefined();
    expect(stream.res.headers.vary).toBeUndefined();
    await stream.waitFor('"type":"connected"');
    stream.close();
  });

  it('ends a compressed stream with the final line on shutdown', async () => {
    const server = await start(true);
    const stream = await DecodedStream.open(`${server.url}/connection/stream?channel=live:a`, {
      'accept-encoding': 'gzip',
    });
    await stream.waitFor('"type":"connected"');
    await server.close();
    await stream.waitFor('"type":"end","code":3001');
  });
});
