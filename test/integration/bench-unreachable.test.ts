// `tidings bench` at an address where no server runs, or where the server refuses every
// subscriber, exits non-zero and says why instead of printing a run of connect errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './bench-cli.js';

const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port that was free a moment ago and has nothing listening now. */
async function deadPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('tidings bench without a reachable server', () => {
  it('exits 1 naming ECONNREFUSED and the address when nothing listens on --url', { timeout: 60_000 }, async () => {
    const port = await deadPort();
    const run = await runCli(['bench', '--url', `ws://127.0.0.1:${port}/connection/websocket`, '-n', '4', '-d', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `no subscriber could connect: ECONNREFUSED 127.0.0.1:${port} — is the server running?`,
    );
    expect(run.stdout).toBe('');
  });

  it('exits 1 naming the API address when publish-api cannot reach it', { timeout: 60_000 }, async () => {
    const port = await deadPort();
    const run = await runCli([
      'bench',
      '--scenario',
      'publish-api',
      '--api-url',
      `http://127.0.0.1:${port}`,
      '-d',
      '1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no publisher could connect: ECONNREFUSED 127.0.0.1:${port}`);
    expect(run.stderr).toContain('--api-url');
  });

  it('exits 1 when the address accepts TCP but refuses every subscriber', { timeout: 120_000 }, async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('not here'));
    servers.push(server);
    const port = await listen(server);
    const url = `ws://127.0.0.1:${port}/connection/websocket`;
    const run = await runCli(['bench', '--url', url, '-n', '4', '-w', '1', '-d', '1', '--no-progress']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no subscriber could connect: all 4 attempts at ${url} failed`);
    expect(run.stderr).toContain('--transport');
    // The figures of the run are still printed before the error.
    expect(run.stdout).toContain('connected        0');
  });
});
