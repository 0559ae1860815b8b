// Fuzzing the HTTP parsers that the decoder fuzz tests do not reach as requests (issue 15): poll
// query parameters and headers, SDK emulation bodies (POST /emulation), and http_stream connect
// bodies, each as real requests to a running server with fast-check. Every answer must be a
// 2xx/3xx/4xx with the documented body shape (never 5xx, never a hang), nothing may be logged as an
// error, and the node must be ready afterwards. A failure prints its seed: rerun with it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import type { Logger } from '../../packages/server/src/observability/logger.js';

const errors: string[] = [];
const record =
  (level: string) =>
  (obj: object, msg?: string): void => {
    if (level === 'error') errors.push(`${msg ?? ''} ${JSON.stringify(obj).slice(0, 300)}`);
  };
const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };

let server: RunningServer;
let base: string;
let tried = 0;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        client: { allowAnonymous: true },
        api: { keys: ['http-fuzz-api-key-0123456789'] },
        // A short long-poll: a fuzzed `wait` must not hold the run.
        poll: { timeoutMs: 50 },
        channels: {
          namespaces: {
            chat: { historySize: 10, historyTtlMs: 60_000, allowSubscribeForAnonymous: true, allowRecovery: true },
          },
        },
        log: { level: 'error' },
      },
    }),
    { logger },
  );
  base = server.url;
});
afterAll(async () => {
  await server?.close();
});

/** The status, checked for the documented shape; throws on 5xx or a bad 4xx body. */
async function expectHandled(res: Response, what: string): Promise<number> {
  tried++;
  const text = await res.text();
  if (res.status >= 500) throw new Error(`${what}: ${res.status} ${text.slice(0, 200)}`);
  if (res.status >= 400 && res.status !== 404 && res.status !== 405) {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code !== 'number' || typeof body.error.message !== 'string') {
      throw new Error(`${what}: ${res.status} without { error: { code, message } }: ${text.slice(0, 200)}`);
    }
  }
  return res.status;
}

const token = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/),
  fc.constantFrom('', 'AQEJY2hhdDphCF8tV1FsdTUwAA', 'AQ', '!!!', '%00', 'e.1', '.', 'abc.-1', 'x.1e309'),
);
const queryValue = fc.oneof(
  token,
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('chat:a', 'chat:b', 'nope:x', 'chat:#u', '\u0000', 'chat:a,chat:b', '-1', '1e12'),
);
const pollQuery = fc.dictionary(
  fc.constantFrom('channel', 'cursor', 'since', 'wait', 'limit', 'token', 'x', 'channel[]'),
  fc.oneof(queryValue, fc.array(queryValue, { maxLength: 3 })),
  { maxKeys: 5 },
);

describe('HTTP fuzzing', () => {
  it('10,000 poll requests with fuzzed query parameters and headers: no 5xx, documented errors', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(pollQuery, fc.option(token), fc.option(token), async (query, lastEventId, ifNoneMatch) => {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) for (const item of [v].flat()) params.append(k, item);
        const headers: Record<string, string> = {};
        // Header values must be ByteStrings: keep what fetch can send.
        const header = (v: string) => v.replace(/[^\x20-\x7e]/g, '');
        if (lastEventId !== null) headers['last-event-id'] = header(lastEventId);
        if (ifNoneMatch !== null) headers['if-none-match'] = header(ifNoneMatch);
        const res = await fetch(`${base}/connection/poll?${params}`, { headers, signal: AbortSignal.timeout(5000) });
        const status = await expectHandled(res, `poll ?${params}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 10_000 },
    );
    // The fuzzer reached both sides: valid polls and refused ones.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  }, 180_000);

  const validRequest = { node: 'n', session: 's', data: [{ id: 1, ping: {} }] };
  const emulationBody = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record({
        node: fc.oneof(fc.string(), fc.jsonValue()),
        session: fc.oneof(fc.string(), fc.jsonValue()),
        data: fc.oneof(fc.jsonValue(), fc.string(), fc.array(fc.jsonValue(), { maxLength: 3 })),
      })
      .map((v) => JSON.stringify(v)),
    fc.string().map((s) => JSON.stringify(validRequest).slice(0, s.length % 60) + s),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  );

  it('10,000 POST /emulation bodies (JSON and Protobuf content types): no 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        emulationBody,
        fc.constantFrom('application/json', 'application/octet-stream'),
        async (body, type) => {
          const res = await fetch(`${base}/emulation`, {
            method: 'POST',
            headers: { 'content-type': type },
            body,
            signal: AbortSignal.timeout(5000),
          });
          const status = await expectHandled(res, `emulation ${type} ${body.slice(0, 80)}`);
          expect([204, 400, 404, 413, 415]).toContain(status);
        },
      ),
      { numRuns: 10_000 },
    );
  }, 180_000);

  it('2,000 POST /connection/http_stream connect bodies: a clean refusal or a stream, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(emulationBody, async (body) => {
        const res = await fetch(`${base}/connection/http_stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(5000),
        });
        tried++;
        if (res.status >= 500) throw new Error(`http_stream: ${res.status} for ${body.slice(0, 80)}`);
        // A stream that started is closed by us: only its status is under test here.
        await res.body?.cancel();
      }),
      { numRuns: 2000 },
    );
  }, 120_000);

  it('after every input the node is ready and logged no error', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(errors).toEqual([]);
    console.log(`HTTP fuzzing: ${tried} requests`);
  });
});
