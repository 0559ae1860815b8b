// The OpenAPI document against the router and a running `tidings serve`: every route has an
// entry (routes enumerated by serveRoutes, which the router's path constants come from), and
// every operation is called live — its documented example request where it has one — with each
// answer's status, content type and body (every stream item) validated with ajv.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { signToken } from '@tidings/server';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import type { TidingsConfig } from '../../apps/tidings/src/config/schema.js';
import { metricsOnMainPort, serveDocument, serveRoutes } from '../../apps/tidings/src/openapi/index.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { OpenApiChecker } from '../../packages/server/src/openapi/openapi-check.test-helpers.js';
import type { OpenApiDocument, OpenApiOperation } from '../../packages/server/src/openapi/openapi-types.js';

const secret = 'openapi-secret-0123456789abcdef0123456789';
const apiKey = 'openapi-api-key-0123456789';

let config: TidingsConfig;
let server: RunningServer;
let doc: OpenApiDocument;
let checker: OpenApiChecker;
const covered = new Set<string>();
const problems: string[] = [];
/** Live 200 answers of the server API, by method, for the generated-client check. */
const recorded = new Map<string, { request: string; response: string }>();
const temp = mkdtempSync(join(tmpdir(), 'tidings-openapi-'));
const root = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(async () => {
  config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      metrics: { enabled: true },
      admin: { password: 'openapi-admin-password' },
      channels: {
        namespaces: {
          chat: { historySize: 100, historyTtlMs: 600_000, presence: true, allowSubscribeForClient: true },
          user: { allowSubscribeForClient: true },
          // A state channel, for GET /api/state.
          st: { state: true, historySize: 100, historyTtlMs: 600_000, allowSubscribeForClient: true },
        },
      },
      log: { level: 'error' },
    },
  });
  server = await startServer(config, { logger: silentLogger });
  const res = await fetch(`${server.url}/api/openapi.json`);
  doc = (await res.json()) as OpenApiDocument;
  checker = new OpenApiChecker(doc);
});

afterAll(async () => {
  await server?.close();
  rmSync(temp, { recursive: true, force: true });
});

function operations(d: OpenApiDocument): [string, string, OpenApiOperation][] {
  return Object.entries(d.paths).flatMap(([path, item]) =>
    (Object.entries(item) as [string, OpenApiOperation][]).map(([m, op]): [string, string, OpenApiOperation] => [
      m,
      path,
      op,
    ]),
  );
}

/** The documented example request body of `POST path`. */
function exampleOf(path: string): unknown {
  const body = checker.operation('post', path)?.requestBody as
    | { content: Record<string, { examples?: { example?: { value: unknown } } }> }
    | undefined;
  return body?.content['application/json']?.examples?.example?.value;
}

/** Reads a response body until `until(text)` holds (or it ends), then cancels the stream. */
async function readUntil(res: Response, until: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 10_000;
  while (!until(text) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

/** Calls the server and checks the answer against the document; `docPath` is the documented path. */
async function call(
  method: 'GET' | 'POST',
  docPath: string,
  init: {
    url?: string;
    headers?: Record<string, string>;
    body?: string;
    until?: (text: string) => boolean;
    items?: boolean;
  } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${server.url}${init.url ?? docPath}`, {
    method,
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = init.until === undefined ? await res.text() : await readUntil(res, init.until);
  const found =
    init.items === false
      ? checker.checkResponse(method, docPath, res.status, res.headers.get('content-type'), '')
      : checker.checkResponse(method, docPath, res.status, res.headers.get('content-type'), text);
  problems.push(...found);
  if (found.length === 0) covered.add(`${method.toLowerCase()} ${docPath}`);
  return { status: res.status, text, headers: res.headers };
}

const key = { 'X-API-Key': apiKey, 'Content-Type': 'application/json' };
const token = () => signToken({ sub: '42' }, { alg: 'HS256', secret }, { expiresInSec: 600 });

describe('OpenAPI document of tidings serve', () => {
  it('has exactly one entry for every route the router serves', () => {
    const routes = serveRoutes(config, { metricsOnMainPort: metricsOnMainPort(config) })
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    const documented = operations(doc)
      .map(([m, p]) => `${m} ${p}`)
      .sort();
    expect(documented).toEqual([...new Set(routes)].sort());
    // The served document is the one built from the config.
    expect(doc).toEqual(JSON.parse(JSON.stringify(serveDocument(config, server.node.version))));
  });

  it('every path of the configuration the router answers (not its catch-all 404) is documented', async () => {
    // Every URL path in the config (transport paths, emulation, MQTT...) plus the fixed ones.
    const candidates = new Set([
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/openapi.json',
      '/api/docs',
      '/',
      '/index.html',
    ]);
    const walk = (value: unknown): void => {
      if (typeof value === 'string' && /^\/[\w./-]*$/.test(value)) candidates.add(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) walk(v);
    };
    walk(config);
    expect(candidates.size).toBeGreaterThan(12);
    const undocumented: string[] = [];
    for (const path of candidates) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${server.url}${path}`, { method, signal: AbortSignal.timeout(5_000) }).catch(
          () => undefined,
        );
        const text = res === undefined ? '' : await res.text().catch(() => '');
        const catchAll = res?.status === 404 && text === '{"error":{"code":404,"message":"not found"}}';
        if (res !== undefined && !catchAll && doc.paths[path] === undefined)
          undocumented.push(`${method} ${path} ${res.status}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('is a valid OpenAPI 3.1 document (the official JSON Schema of the specification)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as object);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator is not vacuous: a response without its required description is refused.
    const broken = structuredClone(doc) as {
      paths: Record<string, Record<string, { responses: Record<string, object> }>>;
    };
    broken.paths['/healthz']!.get!.responses['200'] = {};
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('every example in the served document validates against its schema', () => {
    expect(checker.checkExamples().problems).toEqual([]);
  });

  it('/api/docs is a self-contained page', async () => {
    const { status, text, headers } = await call('GET', '/api/docs');
    expect(status).toBe(200);
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(text).toContain('id="publish"');
    expect(text).not.toMatch(/<script|(src|href)="(https?:)?\/\//i);
  });

  it('every operation answers as documented on a running server', async () => {
    await call('GET', '/api/openapi.json');
    await call('GET', '/healthz');
    await call('GET', '/readyz');
    await call('GET', '/metrics');
    expect((await call('POST', '/healthz')).status).toBe(405);
    await call('GET', '/');
    await call('GET', '/index.html');

    // The server API, replaying each documented example request.
    const order = [
      'publish',
      'broadcast',
      'history',
      'presence',
      'presence_stats',
      'channels',
      'info',
      'disconnect',
      'unsubscribe',
      'subscribe',
      'history_remove',
      'batch',
    ];
    for (const method of order) {
      const path = `/api/${method}`;
      const request = JSON.stringify(exampleOf(path));
      const { status, text } = await call('POST', path, { headers: key, body: request });
      expect(status, `${path} ${text}`).toBe(200);
      recorded.set(method, { request, response: text });
    }
    const info = JSON.parse((await call('POST', '/api/info', { headers: key, body: '{}' })).text);
    expect(info.result.versions).toMatchObject({ server: server.node.version, http_api: doc.info.version });
    // Refusals, each validated against the documented error body.
    expect((await call('POST', '/api/publish', { body: '{}' })).status).toBe(401);
    expect((await call('POST', '/api/publish', { headers: key, body: '{"channel": 1}' })).status).toBe(400);
    const plain = { 'X-API-Key': apiKey, 'Content-Type': 'text/plain' };
    expect((await call('POST', '/api/publish', { headers: plain, body: '{}' })).status).toBe(415);
    const big = JSON.stringify({ channel: 'chat:lobby', data: 'x'.repeat(config.api.maxBodyBytes) });
    expect((await call('POST', '/api/publish', { headers: key, body: big })).status).toBe(413);
    expect((await call('GET', '/api/history', { headers: key })).status).toBe(405);
    const refused = await call('POST', '/api/history', { headers: key, body: '{"channel": "nope:1"}' });
    expect(JSON.parse(refused.text).error.code).toBe(102);

    await call('POST', '/api/publish', {
      headers: key,
      body: JSON.stringify({ channel: 'chat:lobby', b64data: 'AAEC' }),
    });
    const exported = await call('GET', '/api/history/stream', {
      url: '/api/history/stream?channel=chat:lobby',
      headers: key,
    });
    expect(exported.text).toContain('"type":"end"');
    expect((await call('GET', '/api/history/stream', { url: '/api/history/stream', headers: key })).status).toBe(400);

    // State: a document, then the same again answered 304 by its ETag; bad and unknown channels.
    await call('POST', '/api/publish', {
      headers: key,
      body: JSON.stringify({ channel: 'st:prices', data: { bid: 1, ask: 2 }, tags: { key: 'AAPL' } }),
    });
    const apiKeyOnly = { 'X-API-Key': apiKey };
    const state = await call('GET', '/api/state', {
      url: '/api/state?channel=st:prices&key=AAPL',
      headers: apiKeyOnly,
    });
    expect(state.status).toBe(200);
    expect(JSON.parse(state.text).data).toEqual({ bid: 1, ask: 2 });
    expect(state.headers.get('etag') ?? '').not.toBe('');
    const whole = await call('GET', '/api/state', { url: '/api/state?channel=st:prices', headers: apiKeyOnly });
    const again = await call('GET', '/api/state', {
      url: '/api/state?channel=st:prices',
      headers: { ...apiKeyOnly, 'If-None-Match': whole.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);
    expect((await call('GET', '/api/state', { url: '/api/state', headers: apiKeyOnly })).status).toBe(400);
    expect(
      (await call('GET', '/api/state', { url: '/api/state?channel=chat:lobby', headers: apiKeyOnly })).status,
    ).toBe(404);

    // One-way streams: connected, then a publication made through the API.
    const bearer = { Authorization: `Bearer ${await token()}` };
    for (const path of ['/connection/sse', '/connection/stream']) {
      const publishSoon = setTimeout(() => {
        void fetch(`${server.url}/api/publish`, {
          method: 'POST',
          headers: key,
          body: JSON.stringify({ channel: 'chat:lobby', data: { via: path }, tags: { k: 'v' } }),
        });
      }, 200);
      const { status, text } = await call('GET', path, {
        url: `${path}?channel=chat:lobby&since=${encodeURIComponent(JSON.parse(exported.text.trim().split('\n').at(-1)!).epoch)}.0`,
        headers: bearer,
        until: (t) => t.includes(`"via":"${path}"`),
      });
      clearTimeout(publishSoon);
      expect(status).toBe(200);
      expect(text).toContain('"type":"connected"');
      expect(text).toContain('"type":"publication"');
      expect((await call('GET', path, { url: `${path}?cursor=%21%21`, headers: bearer })).status).toBe(400);
    }
    const polled = await call('GET', '/connection/poll', {
      url: '/connection/poll?channel=chat:lobby&cursor=&wait=0',
      headers: bearer,
    });
    expect(polled.status).toBe(200);
    const etag = polled.headers.get('etag')!;
    const cursor = JSON.parse(polled.text).cursor as string;
    const notModified = await call('GET', '/connection/poll', {
      url: `/connection/poll?channel=chat:lobby&cursor=${cursor}&wait=0`,
      headers: { ...bearer, 'If-None-Match': etag },
    });
    expect(notModified.status).toBe(304);
    expect((await call('GET', '/connection/poll', { url: '/connection/poll?channel=chat:lobby&wait=x' })).status).toBe(
      400,
    );

    // SDK emulation: a session over http_stream, a command POSTed for it, a bad POST.
    let first = '';
    const stream = await call('POST', '/connection/http_stream', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 1, connect: { token: await token() } }),
      until: (t) => {
        first = t;
        return t.includes('\n');
      },
    });
    expect(stream.status).toBe(200);
    const connected = JSON.parse(first.split('\n')[0]!).connect as { session: string; node: string };
    const command = await call('POST', '/emulation', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: connected.session, node: connected.node, data: '{"id":2,"presence_stats":{}}' }),
    });
    expect(command.status).toBe(204);
    expect(
      (await call('POST', '/emulation', { headers: { 'Content-Type': 'application/json' }, body: '{}' })).status,
    ).toBe(400);
    // The emulation SSE flavour shares /connection/sse: its data lines are protocol replies, so
    // only status and content type are checked.
    const connect = encodeURIComponent(JSON.stringify({ id: 1, connect: { token: await token() } }));
    const sdkSse = await call('GET', '/connection/sse', {
      url: `/connection/sse?cf_connect=${connect}`,
      until: (t) => t.includes('data:'),
      items: false,
    });
    expect(sdkSse.text).toContain('"connect"');

    // The admin console: refused without a session, then logged in through every endpoint.
    expect((await call('GET', '/admin/api/stats')).status).toBe(401);
    const json = { 'Content-Type': 'application/json' };
    expect(
      (await call('POST', '/admin/api/login', { headers: json, body: '{"password": "wrong-password!"}' })).status,
    ).toBe(401);
    const login = await fetch(`${server.url}/admin/api/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ password: 'openapi-admin-password' }),
    });
    problems.push(
      ...checker.checkResponse(
        'post',
        '/admin/api/login',
        login.status,
        login.headers.get('content-type'),
        await login.text(),
      ),
    );
    covered.add('post /admin/api/login');
    const session = { Cookie: (login.headers.get('set-cookie') ?? '').split(';')[0]! };
    const admin = { ...session, ...json };
    await call('GET', '/admin');
    await call('GET', '/admin/api/session', { headers: session });
    await call('GET', '/admin/api/stats', { headers: session });
    await call('GET', '/admin/api/channels', { headers: session });
    await call('GET', '/admin/api/channel', { url: '/admin/api/channel?channel=chat:lobby', headers: session });
    expect((await call('GET', '/admin/api/channel', { url: '/admin/api/channel', headers: session })).status).toBe(400);
    const adminPublish = JSON.stringify(exampleOf('/admin/api/publish'));
    expect((await call('POST', '/admin/api/publish', { headers: admin, body: adminPublish })).status).toBe(200);
    expect((await call('POST', '/admin/api/publish', { headers: session, body: adminPublish })).status).toBe(403);
    await call('POST', '/admin/api/disconnect', {
      headers: admin,
      body: JSON.stringify(exampleOf('/admin/api/disconnect')),
    });
    await call('GET', '/admin/api/tail', {
      url: '/admin/api/tail?channel=chat:lobby',
      headers: session,
      until: (t) => t.includes('connected'),
    });
    await call('POST', '/admin/api/logout', { headers: admin, body: '{}' });

    // WebSocket: a plain GET is not an upgrade; a real client upgrades.
    expect((await call('GET', '/connection/websocket')).status).toBe(404);
    const upgraded = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
      ws.once('upgrade', (res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => ws.close());
      ws.once('error', reject);
    });
    problems.push(...checker.checkResponse('get', '/connection/websocket', upgraded, null, ''));

    expect(problems).toEqual([]);
    const all = operations(doc).map(([m, p]) => `${m} ${p}`);
    expect(all.filter((op) => !covered.has(op))).toEqual([]);
  }, 60_000);

  it('a client generated by openapi-typescript type-checks against the recorded live requests and answers', async () => {
    expect(recorded.size).toBe(12);
    writeFileSync(join(temp, 'api.d.ts'), astToString(await openapiTS(structuredClone(doc) as never)));
    const lines = [
      "import type { operations } from './api';",
      "type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;",
      "type Req<O extends keyof operations> = Json<NonNullable<operations[O]['requestBody']>>;",
      'type Ok<O extends keyof operations> = operations[O] extends { responses: { 200: infer R } } ? Json<R> : never;',
    ];
    for (const [method, { request, response }] of recorded) {
      lines.push(`export const ${method}Request: Req<'${method}'> = ${request};`);
      lines.push(`export const ${method}Response: Ok<'${method}'> = ${response};`);
    }
    writeFileSync(join(temp, 'check.ts'), `${lines.join('\n')}\n`);
    // And a live answer with a member the document lacks, which must not type-check.
    const info = recorded.get('info')!.response.replace('"versions":{', '"versions":{"undocumented":1,');
    writeFileSync(
      join(temp, 'bad.ts'),
      `${lines.slice(0, 4).join('\n')}\nexport const infoResponse: Ok<'info'> = ${info};\n`,
    );
    // One tsc run for both files (tsc is slow on a shared machine).
    let output = '';
    try {
      await promisify(execFile)(
        join(root, 'node_modules', '.bin', 'tsc'),
        [
          '--noEmit',
          '--strict',
          '--target',
          'es2022',
          '--module',
          'esnext',
          '--moduleResolution',
          'bundler',
          'check.ts',
          'bad.ts',
        ],
        { cwd: temp },
      );
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    const errors = output.split('\n').filter((l) => l.trim() !== '');
    expect(errors.filter((l) => !l.startsWith('bad.ts'))).toEqual([]);
    expect(errors.join('\n')).toContain('undocumented');
  }, 60_000);
});
