import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/jwt-authenticator.js';
import { createMemoryEngine } from '../broker/memory/memory-engine.js';
import { createNode } from '../core/node.js';
import type { Logger } from '../observability/logger.js';
import { createApiHandler } from './api-handler.js';
import { isJsonContentType, jsonNestingExceeds } from './body-guard.js';

const apiKey = 'hostile-body-key-0123456789';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

interface Line {
  readonly level: string;
  readonly obj: object;
  readonly msg: string | undefined;
}

async function start(): Promise<{ url: string; lines: Line[] }> {
  const lines: Line[] = [];
  const record =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const engine = createMemoryEngine();
  const node = createNode({
    broker: engine.broker,
    history: engine.history,
    presence: engine.presence,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { chat: { historySize: 10, historyTtlMs: 60_000 } } },
  });
  await node.start();
  const handler = createApiHandler(node, { apiKeys: [apiKey], logger });
  const server: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await node.shutdown();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines };
}

const post = (url: string, body: string, contentType?: string): Promise<Response> =>
  fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, ...(contentType === undefined ? {} : { 'Content-Type': contentType }) },
    body,
  });

const nested = (depth: number): string => `{"channel":"chat:a","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;

describe('server API: hostile bodies (issue 15 findings)', () => {
  it('publish with data nested 5,000 deep answers 400 (code 107) and logs one short line, not a stack overflow', async () => {
    const h = await start();
    const res = await post(h.url, nested(5000), 'application/json');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 107, message: 'bad request: JSON nesting deeper than 512' } });
    expect(h.lines.filter((l) => l.level === 'error')).toEqual([]);
    const warned = h.lines.filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(JSON.stringify(warned[0]).length).toBeLessThan(200);
    // 511 levels of arrays inside the top-level object is exactly the cap and still publishes.
    const atCap = await post(h.url, nested(511), 'application/json');
    expect(atCap.status).toBe(200);
  });

  it('a text/plain, form or typeless body answers 415 (code 107) and publishes nothing', async () => {
    const h = await start();
    const body = JSON.stringify({ channel: 'chat:a', data: { x: 1 } });
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await post(h.url, body, type);
      expect(res.status, type).toBe(415);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(107);
    }
    const typeless = await fetch(`${h.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: new Blob([body]),
    });
    expect(typeless.status).toBe(415);
    const history = await fetch(`${h.url}/api/history`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'chat:a', limit: -1 }),
    });
    expect(((await history.json()) as { result: { publications?: unknown[] } }).result.publications ?? []).toEqual([]);
    expect((await post(h.url, body, 'application/json; charset=utf-8')).status).toBe(200);
    expect((await post(h.url, body, 'application/merge-patch+json')).status).toBe(200);
  });
});

describe('body-guard', () => {
  it('counts nesting outside strings only, honouring escapes', () => {
    expect(jsonNestingExceeds('[[[]]]', 3)).toBe(false);
    expect(jsonNestingExceeds('[[[[]]]]', 3)).toBe(true);
    expect(jsonNestingExceeds(`["${'['.repeat(100)}"]`, 2)).toBe(false);
    expect(jsonNestingExceeds('["\\"[[[[["]', 2)).toBe(false);
    expect(jsonNestingExceeds(`{"a":${'{"b":'.repeat(600)}1${'}'.repeat(600)}}`)).toBe(true);
  });

  it('accepts application/json and +json types only', () => {
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/cloudevents+json')).toBe(true);
    expect(isJsonContentType(undefined)).toBe(false);
    expect(isJsonContentType('text/json')).toBe(false);
    expect(isJsonContentType('application/jsonx')).toBe(false);
  });
});
