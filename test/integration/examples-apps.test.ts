// The chat and live-dashboard examples run for real. Chat: two people log in (HttpOnly cookie),
// connect the centrifuge SDK with no token, and each gets the other's message as the publish
// hook rewrote it (trimmed, stamped with the sender); an empty message is refused, a stranger
// without a session is turned away. Dashboard: its page is served and an SSE reader on the same
// port gets samples with contiguous offsets.
import { Centrifuge } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

interface ExampleApp {
  readonly url: string;
  close(): Promise<void>;
}

function socketWith(headers: Record<string, string>) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

/** Reads `url` as SSE until `n` publication events arrived (10 s at most), then cancels the stream. */
async function ssePublications<D>(url: string, n: number): Promise<Array<{ offset: number; data: D }>> {
  const res = await fetch(url);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const out: Array<{ offset: number; data: D }> = [];
  let buffer = '';
  const deadline = Date.now() + 10_000;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${out.length} of ${n} publications from ${url}: ${buffer}`);
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('data: ')) continue;
      const event = JSON.parse(line.slice(6)) as { type: string; offset: number; data: D };
      if (event.type === 'publication') out.push(event);
    }
  }
  await reader.cancel();
  return out;
}

function once<T>(emitter: { once(event: string, fn: (ctx: T) => void): unknown }, event: string, ms = 8000) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (ctx: T) => {
      clearTimeout(timer);
      resolve(ctx);
    });
  });
}

describe('examples/chat', () => {
  let app: ExampleApp;
  const clients: Centrifuge[] = [];

  beforeAll(async () => {
    const { start } = (await import('../../examples/chat/server.mjs')) as {
      start: (o: { port: number }) => Promise<ExampleApp>;
    };
    app = await start({ port: 0 });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await app?.close();
  });

  async function login(name: string): Promise<string> {
    const res = await fetch(`${app.url}/login?name=${name}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    return cookie.split(';')[0]!;
  }

  function join(cookie: string) {
    const c = new Centrifuge(`${app.url.replace('http', 'ws')}/connection/websocket`, {
      websocket: socketWith({ cookie }),
      minReconnectDelay: 50,
    });
    clients.push(c);
    const room = c.newSubscription('chat:lobby');
    return { c, room };
  }

  it('serves the page, and two people chat with messages the hook rewrote', async () => {
    expect(await (await fetch(`${app.url}/`)).text()).toContain('chat:lobby');
    const ada = join(await login('ada'));
    const bob = join(await login('bob'));
    for (const p of [ada, bob]) {
      p.room.subscribe();
      p.c.connect();
      await once(p.room, 'subscribed');
    }
    const got = once<{ data: { from: string; text: string } }>(bob.room, 'publication');
    await ada.room.publish({ text: '  hello bob  ' });
    expect((await got).data).toMatchObject({ from: 'ada', text: 'hello bob' });
    await expect(ada.room.publish({ text: '   ' })).rejects.toMatchObject({ code: 107 });
  });

  it('turns away a client without a session', async () => {
    const { c } = join('chat_session=forged');
    const gone = once<{ code: number }>(c, 'disconnected');
    c.connect();
    expect((await gone).code).toBe(101);
  });
});

describe('examples/live-dashboard', () => {
  let app: ExampleApp;

  beforeAll(async () => {
    const { start } = (await import('../../examples/live-dashboard/server.mjs')) as {
      start: (o: { port: number; intervalMs: number }) => Promise<ExampleApp>;
    };
    app = await start({ port: 0, intervalMs: 50 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves the page and streams samples over SSE on the same port', async () => {
    expect(await (await fetch(`${app.url}/`)).text()).toContain(
      "new EventSource('/connection/sse?channel=metrics:live')",
    );
    const samples = await ssePublications<{ ordersPerSec: number; clients: number }>(
      `${app.url}/connection/sse?channel=metrics:live`,
      3,
    );
    expect(samples[1]!.offset).toBe(samples[0]!.offset + 1);
    expect(samples[2]!.offset).toBe(samples[1]!.offset + 1);
    expect(typeof samples[0]!.data.ordersPerSec).toBe('number');
    expect(samples.some((s) => s.data.clients >= 1)).toBe(true);
  });
});

describe('examples/iot-telemetry', () => {
  let app: ExampleApp & { mqttUrl: string; deviceToken: string };

  beforeAll(async () => {
    const { start } = (await import('../../examples/iot-telemetry/server.mjs')) as {
      start: (o: { port: number; mqttPort: number; intervalMs: number }) => Promise<typeof app>;
    };
    app = await start({ port: 0, mqttPort: 0, intervalMs: 50 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('readings the simulated MQTT devices publish reach an SSE reader of the page, in order', async () => {
    expect(await (await fetch(`${app.url}/`)).text()).toContain('new EventSource(`/connection/sse?channel=telemetry:');
    const readings = await ssePublications<{ device: string; seq: number; tempC: number }>(
      `${app.url}/connection/sse?channel=telemetry:dev-2`,
      3,
    );
    expect(readings.every((r) => r.data.device === 'dev-2' && typeof r.data.tempC === 'number')).toBe(true);
    expect(readings[1]!.offset).toBe(readings[0]!.offset + 1);
    expect(readings[2]!.data.seq).toBeGreaterThan(readings[0]!.data.seq);
  });

  it('a device with a forged token never gets a session', async () => {
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(app.mqttUrl, { protocolVersion: 5, password: 'not-a-token', reconnectPeriod: 0 });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', () => resolve('refused'));
      client.once('close', () => resolve('refused'));
    });
    client.end(true);
    expect(outcome).toBe('refused');
  });
});
