// Two `tidings serve` nodes on the shared Redis: both appear in the admin console's node list
// (nodes announce themselves through the engine), with the clients each one holds, and one
// node's admin session cookie works on the other (sessions are derived from the shared config).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
const password = 'redis-nodes-admin-password';
const prefix = `tidings-test:${randomBytes(6).toString('hex')}:`;
const nodes: RunningServer[] = [];
const sockets: WebSocket[] = [];
let browser: Browser;

beforeAll(async () => {
  requireFile(chromiumPath, 'chromium');
  for (const name of ['admin-node-a', 'admin-node-b']) {
    const config = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix },
        client: { allowAnonymous: true },
        admin: { password },
        log: { level: 'silent' },
      },
    });
    nodes.push(await startServer(config, { logger: silentLogger, nodeName: name }));
  }
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  for (const ws of sockets) ws.close();
  await browser?.close();
  for (const n of nodes.splice(0)) await n.close();
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

async function anonymous(node: RunningServer): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/connection/websocket`);
  sockets.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const connected = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ id: 1, connect: {} }));
  await connected;
}

it('lists both nodes with their clients, in the API and in the console', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  await anonymous(b);
  await anonymous(b);
  await anonymous(a);

  const login = await fetch(`${a.url}/admin/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  expect(login.status).toBe(200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;

  type NodeRow = { name: string; numClients: number };
  const listed = async (node: RunningServer): Promise<NodeRow[]> => {
    const res = await fetch(`${node.url}/admin/api/stats`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { nodes: NodeRow[] };
    return body.nodes
      .map((n) => ({ name: n.name, numClients: n.numClients }))
      .sort((x, y) => x.name.localeCompare(y.name));
  };
  const expected = [
    { name: 'admin-node-a', numClients: 1 },
    { name: 'admin-node-b', numClients: 2 },
  ];
  // Announcements carry the counts every 5 s, so the first listing may still show older ones.
  await expect.poll(() => listed(a), { timeout: 15_000, interval: 250 }).toEqual(expected);
  // The same cookie opens node b: both derive sessions from the same admin config.
  await expect.poll(() => listed(b), { timeout: 15_000, interval: 250 }).toEqual(expected);

  const page = await browser.newPage();
  await page.goto(`${a.url}/admin`);
  await page.locator('#password').fill(password);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#nodes tbody tr[data-node=admin-node-b]').waitFor();
  expect(await page.locator('#nodes tbody tr').count()).toBe(2);
  expect(await page.locator('#nodes tbody tr[data-node=admin-node-a]').innerText()).toContain('(this node)');
  expect(await page.locator('#nodes tbody tr[data-node=admin-node-b] td').nth(2).innerText()).toBe('2');
  await page.close();
});
