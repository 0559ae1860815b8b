import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { apiMethodLabel, countApiRequests, createMetricsHandler } from './metrics-route.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('createMetricsHandler', () => {
  it('answers only /metrics, with the bearer token when one is configured', async () => {
    const handle = createMetricsHandler({ scrape: async () => 'x_total 1\n' }, 'scrape-token-0123456789');
    const url = await serve((req, res) => {
      void handle(req, res).then((answered) => {
        if (!answered) res.writeHead(418).end();
      });
    });
    expect((await fetch(`${url}/other`)).status).toBe(418);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const ok = await fetch(`${url}/metrics?x=1`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('x_total 1\n');
    expect((await fetch(`${url}/metrics`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('API request counting', () => {
  it('labels known methods by name and everything else "other"', () => {
    expect(apiMethodLabel('/api/publish')).toBe('publish');
    expect(apiMethodLabel('/api/batch?x')).toBe('batch');
    expect(apiMethodLabel('/api/../../etc/passwd')).toBe('other');
    expect(apiMethodLabel('/api/random-scanner-path')).toBe('other');
  });

  it('counts each answered request with its status', async () => {
    const counted: Array<[string, number]> = [];
    const handler = countApiRequests(
      async (_req, res) => {
        res.writeHead(503).end();
        return true;
      },
      { apiRequest: (method, status) => counted.push([method, status]) },
    );
    const url = await serve((req, res) => void handler(req, res));
    await fetch(`${url}/api/publish`, { method: 'POST' });
    await fetch(`${url}/api/nope`, { method: 'POST' });
    expect(counted).toEqual([
      ['publish', 503],
      ['other', 503],
    ]);
  });
});
