// Publications that reach the session between its subscribe reply and the edge's own record of
// the subscription must be delivered, not dropped: a subscribe (new, or resuming a persistent
// session) under a steady stream of publications sees every offset after its first, in order.
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

const edges: TestEdge[] = [];
const clients: MqttClient[] = [];
const floods: Array<{ stop: () => Promise<number> }> = [];
afterEach(async () => {
  for (const f of floods.splice(0)) await f.stop();
  for (const c of clients.splice(0)) c.end(true);
  for (const e of edges.splice(0)) await e.close();
});

/** Publishes into `channel` without pause until stopped; resolves with the last offset. */
function flood(t: TestEdge, channel: string): { stop: () => Promise<number> } {
  let running = true;
  let last = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const batch = Array.from({ length: 5 }, (_, k) => t.node.publish(channel, Buffer.from(`${i * 5 + k}`)));
      for (const r of await Promise.all(batch)) last = Math.max(last, r.offset);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const handle = {
    stop: async () => {
      running = false;
      await loop;
      return last;
    },
  };
  floods.push(handle);
  return handle;
}

function offsetsOf(client: MqttClient): number[] {
  const seen: number[] = [];
  client.on('message', (_t, _p, packet) => {
    const props = packet.properties?.userProperties as Record<string, string> | undefined;
    seen.push(Number(props?.['tidings-offset']));
  });
  return seen;
}

const contiguous = (list: number[]) => list.every((o, i) => i === 0 || o === (list[i - 1] as number) + 1);

describe('subscribe under load', () => {
  it('a new subscription gets the retained latest and then every later offset, none dropped', async () => {
    const t = await startTestEdge({ positionProperties: true });
    edges.push(t);
    await t.node.publish('chat:race', Buffer.from('first'));
    for (let round = 0; round < 20; round++) {
      const f = flood(t, 'chat:race');
      const client = mqtt.connect(t.url, {
        protocolVersion: 5,
        username: 'a',
        password: await t.token(),
        reconnectPeriod: 0,
      });
      clients.push(client);
      const seen = offsetsOf(client);
      await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
      await client.subscribeAsync('chat/race', { qos: round % 2 === 0 ? 1 : 0 });
      await new Promise((r) => setTimeout(r, 20));
      const last = await f.stop();
      await until(() => seen.at(-1) === last);
      expect(contiguous(seen), `round ${round}: ${seen.join(',')}`).toBe(true);
      client.end(true);
    }
  });

  it('a resumed persistent session gets every offset after its stored position', async () => {
    const t = await startTestEdge({ positionProperties: true });
    edges.push(t);
    const options = {
      protocolVersion: 5 as const,
      username: 'a',
      password: await t.token(),
      reconnectPeriod: 0,
      clientId: 'resume-race',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    };
    const first = mqtt.connect(t.url, options);
    clients.push(first);
    const before = offsetsOf(first);
    await new Promise<void>((resolve, reject) => first.once('connect', () => resolve()).once('error', reject));
    await first.subscribeAsync('chat/resume', { qos: 1 });
    for (let round = 0; round < 6; round++) {
      const f = flood(t, 'chat/resume'.replace('/', ':'));
      await new Promise((r) => setTimeout(r, 10));
      const current = clients.at(-1) as MqttClient;
      current.stream.destroy();
      await new Promise((r) => setTimeout(r, 10));
      const next = mqtt.connect(t.url, options);
      clients.push(next);
      const seen = offsetsOf(next);
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) =>
        next.once('connect', resolve).once('error', reject),
      );
      // The namespace keeps 1,000 publications: far more than a round publishes, so it resumes.
      expect(connack.sessionPresent, `round ${round}`).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      const last = await f.stop();
      await until(() => seen.at(-1) === last);
      expect(contiguous(seen), `round ${round}: ${seen.join(',')}`).toBe(true);
    }
    expect(before.length).toBeGreaterThan(0);
  });
});
