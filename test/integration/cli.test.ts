// The real `tidings` binary, as users run it: spawned from apps/tidings/bin/tidings.js after
// `npm run build`, on loopback, port 0.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { startServer } from '../../apps/tidings/src/serve.js';
import { FakeDocument, textOf } from './fake-dom.js';
import { requireTool } from './system-tools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-'));
// A clean env: no TIDINGS_* from the caller's shell, machine-readable logs.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));

interface Running {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

const running = new Set<ChildProcess>();

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: baseEnv,
    encoding: 'utf8',
    input,
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `tidings serve` and resolves once its `listening` log line names the bound URL. */
function serve(args: string[], stdin?: string): Promise<Running> {
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdin?.end(stdin);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line in 15 s\nstdout: ${out}\nstderr: ${err}`)),
      15_000,
    );
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
    });
    proc.stdout?.on('data', (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url !== undefined) {
          clearTimeout(timer);
          resolve({ proc, url: entry.url, stdout: () => out, stderr: () => err, exit });
          return;
        }
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

function configFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Opens a raw WebSocket and sends a connect command; resolves with the socket and the first reply. */
async function connectClient(url: string, token?: string): Promise<{ ws: WebSocket; reply: Record<string, unknown> }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/connection/websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const reply = await request(ws, { id: 1, connect: token === undefined ? {} : { token } });
  return { ws, reply };
}

function request(ws: WebSocket, command: { id: number } & Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      for (const line of data.toString().split('\n')) {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.id === command.id) {
          ws.off('message', onMessage);
          resolve(msg);
        }
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify(command));
  });
}

/** The JSON the server injected into the dashboard page. */
function bootstrapOf(html: string): Record<string, unknown> {
  const json = /<script id="tidings-bootstrap" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1];
  return JSON.parse(json ?? 'null') as Record<string, unknown>;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

function requireBuild(): void {
  if (!existsSync(join(root, 'apps/tidings/dist/cli.js'))) {
    throw new Error('apps/tidings is not built: run `npm run build` first (npm test does)');
  }
}

afterAll(() => {
  for (const proc of running) if (proc.exitCode === null) proc.kill('SIGKILL');
});

describe('tidings CLI', () => {
  beforeAll(requireBuild);
  it('prints its version', () => {
    const result = run(['version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^tidings \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('serves a genconfig config: health, readiness, API, dashboard, WebSocket, and a clean SIGTERM', async () => {
    const generated = run(['genconfig']);
    expect(generated.status).toBe(0);
    const config = JSON.parse(generated.stdout) as { api: { keys: string[] } };
    const file = configFile('generated.json', generated.stdout);
    const apiKey = config.api.keys[0] ?? '';

    const server = await serve(['--config', file]);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', engine: { type: 'memory', ready: true }, nodes: 1 });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 404 } });

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Tidings dashboard');
    expect(bootstrapOf(html)).toEqual({ websocketPath: '/connection/websocket', profile: 'file' });

    expect((await fetch(`${server.url}/api/info`, { method: 'POST', body: '{}' })).status).toBe(401);
    const published = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'chat:lobby', data: { text: 'hi' } }),
    });
    expect(published.status).toBe(200);
    expect(await published.json()).toMatchObject({ result: { offset: 1 } });

    const token = run(['gentoken', '--config', file, '--user', 'alice']);
    expect(token.status).toBe(0);
    const { ws, reply } = await connectClient(server.url, token.stdout.trim());
    expect(reply).toMatchObject({ id: 1, connect: { client: expect.any(String) } });
    const closed = closeCode(ws);

    server.proc.kill('SIGTERM');
    expect(await closed).toBe(3001);
    expect(await server.exit).toBe(0);
    expect(server.stdout()).toContain('"msg":"stopped"');
    for (const secret of [apiKey, token.stdout.trim()]) expect(server.stdout()).not.toContain(secret);
  });

  it('answers unknown upgrade paths with 404', async () => {
    const server = await serve(['--config', configFile('anon.json', '{"client":{"allowAnonymous":true}}')]);
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/elsewhere`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
    server.proc.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  });

  it('runs genconfig | serve --config - as a round trip', async () => {
    const generated = run(['genconfig']);
    const server = await serve(['--config', '-'], generated.stdout);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    server.proc.kill('SIGINT');
    expect(await server.exit).toBe(0);
  });

  it('runs the development profile without a config file', async () => {
    const server = await serve([]);
    const banner = await waitFor(() => (server.stderr().includes('For production') ? server.stderr() : undefined));
    expect(banner).toContain('development profile');
    const apiKey = /API key\s+(\S+)/.exec(banner)?.[1] ?? '';
    expect(apiKey).not.toBe('');
    expect(banner).toContain(`curl -sS -X POST ${server.url}/api/publish`);
    expect(server.stdout()).not.toContain(apiKey);

    const bootstrap = bootstrapOf(await (await fetch(`${server.url}/`)).text());
    expect(bootstrap).toMatchObject({ profile: 'development', channel: 'demo:chat' });
    const token = typeof bootstrap.token === 'string' ? bootstrap.token : undefined;
    expect(token).toBeDefined();
    expect(banner).toContain(`Dev token    ${token}`);
    const { ws, reply } = await connectClient(server.url, token);
    expect(reply).toMatchObject({ connect: { client: expect.any(String) } });
    const sub = await request(ws, { id: 2, subscribe: { channel: 'demo:chat', recoverable: true } });
    expect(sub).toMatchObject({ subscribe: { recoverable: true } });

    const pushed = new Promise<unknown>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString().split('\n')[0] ?? '{}') as { push?: { pub?: { data?: unknown } } };
        if (msg.push?.pub !== undefined) resolve(msg.push.pub.data);
      });
    });
    const published = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'demo:chat', data: { text: 'hello' } }),
    });
    expect(published.status).toBe(200);
    expect(await pushed).toEqual({ text: 'hello' });

    const anonymous = await connectClient(server.url);
    expect(anonymous.reply).toMatchObject({ connect: { client: expect.any(String) } });
    anonymous.ws.close();
    server.proc.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  });

  it('rejects a bad config with the option path and exit code 1', () => {
    const file = configFile('bad.json', JSON.stringify({ http: { port: 'abc', prot: 1 } }));
    const result = run(['serve', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`http.port: expected an integer between 0 and 65535, got "abc" (in ${file})`);
    expect(result.stderr).toContain('http.prot: unknown option (did you mean "port"?)');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const envResult = spawnSync(process.execPath, [bin, 'serve'], {
      env: { ...baseEnv, TIDINGS_HTTP_PORT: 'abc' },
      encoding: 'utf8',
    });
    expect(envResult.status).toBe(1);
    expect(envResult.stderr).toContain('(from TIDINGS_HTTP_PORT)');
  });

  it('names the valid engines for --engine mysql and says what to pass when --config is a directory', () => {
    const engine = run(['serve', '--engine', 'mysql']);
    expect(engine.status).toBe(1);
    expect(engine.stderr).toContain(
      'engine.type: expected one of "memory", "redis", "nats", got "mysql" (from --engine)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'tidings-config-dir-'));
    const directory = run(['serve', '--config', dir]);
    expect(directory.status).toBe(1);
    expect(directory.stderr).toBe(
      `tidings: cannot read config file ${dir}: it is a directory; --config takes a JSON file (tidings genconfig > tidings.json writes one)\n`,
    );
  });

  it('says clearly when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const result = run([
        'serve',
        '--config',
        configFile('port.json', '{"client":{"allowAnonymous":true}}'),
        '--port',
        String(port),
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`port ${port} is in use; pass --port or set TIDINGS_HTTP_PORT`);
    } finally {
      blocker.close();
    }
  });

  it('explains what gentoken needs', () => {
    const result = run(['gentoken', '--user', 'a']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('pass --config FILE');
  });
});

describe('dashboard page', () => {
  beforeAll(requireBuild);
  // No browser on this machine: the page's own script runs in a VM against a minimal DOM, with
  // the `ws` client as its WebSocket, talking to a real development-profile server.
  it('connects with the injected token, shows live publications and publishes over the socket', async () => {
    const server = await serve([]);
    const banner = await waitFor(() => (server.stderr().includes('For production') ? server.stderr() : undefined));
    const apiKey = /API key\s+(\S+)/.exec(banner)?.[1] ?? '';
    const html = await (await fetch(`${server.url}/`)).text();
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const document = new FakeDocument(html);
    const timers = new Set<ReturnType<typeof setInterval>>();
    const sockets: WebSocket[] = [];
    class PageWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
        // As in a browser, a failed connection is an `error` event, never an uncaught exception:
        // the page reconnects on its own timer, which may fire after the server was stopped.
        this.on('error', () => undefined);
      }
    }
    runInNewContext(script, {
      document,
      location: { protocol: 'http:', host: new URL(server.url).host },
      WebSocket: PageWebSocket,
      fetch: (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init),
      setTimeout,
      clearTimeout,
      setInterval: (fn: () => void, ms: number) => {
        const t = setInterval(fn, ms);
        timers.add(t);
        return t;
      },
      clearInterval,
      atob,
      JSON,
      Math,
      Date,
      Promise,
      String,
      Object,
      Array,
      console,
    });
    try {
      const feed = document.byId('feed');
      await waitFor(() => (textOf(feed).includes('recoverable') ? true : undefined));
      expect(textOf(document.byId('status'))).toBe('connected');
      expect(textOf(document.byId('subs'))).toContain('demo:chat');

      await fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'demo:chat', data: { text: 'from the API' } }),
      });
      await waitFor(() => (textOf(feed).includes('from the API') ? true : undefined));

      document.byId('pub-data').value = '{"text":"from the page"}';
      document.byId('publish-form').dispatch('submit');
      await waitFor(() => (textOf(feed).includes('from the page') ? true : undefined));
      expect(textOf(feed)).toContain('from dashboard');
      expect(textOf(document.byId('pub-error'))).toBe('');
      expect(textOf(document.byId('health'))).toBe('health: ok');
    } finally {
      for (const t of timers) clearInterval(t);
      for (const ws of sockets) ws.terminate();
      server.proc.kill('SIGTERM');
      await server.exit;
    }
  });
});

describe('startServer in-process', () => {
  const config = (extra: Record<string, string> = {}) =>
    loadConfig({
      env: { TIDINGS_HTTP_PORT: '0', TIDINGS_LOG_LEVEL: 'silent', TIDINGS_CLIENT_ALLOW_ANONYMOUS: 'true', ...extra },
    });

  it('serves on port 0 and disconnects clients with 3001 on close', async () => {
    const server = await startServer(config());
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/info`, { method: 'POST' })).status).toBe(401);
    const { ws, reply } = await connectClient(server.url);
    expect(reply).toMatchObject({ connect: { client: expect.any(String) } });
    const closed = closeCode(ws);
    await server.close();
    expect(await closed).toBe(3001);
    expect(server.node.ready()).toBe(false);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('listens with http.backlog as the kernel accept queue (default 4096, capped by somaxconn)', async () => {
    // `ss -ltn` shows a listening socket's backlog in its Send-Q column.
    const backlogOf = (port: number): number => {
      const out = execFileSync(requireTool('ss', 'iproute2'), ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
      return Number(out.trim().split(/\s+/)[2]);
    };
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const chosen = await startServer(config({ TIDINGS_HTTP_BACKLOG: '1234' }));
    const byDefault = await startServer(config());
    try {
      expect(backlogOf(chosen.port)).toBe(Math.min(1234, somaxconn));
      expect(backlogOf(byDefault.port)).toBe(Math.min(4096, somaxconn));
    } finally {
      await chosen.close();
      await byDefault.close();
    }
  });

  it('closes connections beyond http.maxConnectionsPerIp at once', async () => {
    const server = await startServer(config({ TIDINGS_HTTP_MAX_CONNECTIONS_PER_IP: '2' }));
    const open = () =>
      new Promise<{ closed: Promise<void> }>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1', () =>
          resolve({ closed: new Promise((r) => socket.once('close', () => r())) }),
        );
        socket.once('error', reject);
      });
    const kept = [await open(), await open()];
    const third = await open();
    await third.closed;
    let keptClosed = false;
    for (const k of kept)
      void k.closed.then(() => {
        keptClosed = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(keptClosed).toBe(false);
    await server.close();
  });
});
