import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

let t: TestEdge;
const clients: MqttClient[] = [];

beforeEach(async () => {
  t = await startTestEdge();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await t.close();
});

async function connect(version: 4 | 5, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(t.url, {
    protocolVersion: version,
    username: 'alice',
    password: await t.token(),
    reconnectPeriod: 0,
    ...extra,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

describe.each([4, 5] as const)('MQTT.js protocol level %i', (version) => {
  it('subscribes to a topic and gets node publications byte for byte on the mapped topic', async () => {
    const client = await connect(version);
    const got: Array<[string, Buffer]> = [];
    client.on('message', (topic, payload) => got.push([topic, payload]));
    const granted = await client.subscribeAsync('chat/lobby', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    const bytes = new Uint8Array([0, 255, 1, 2, 0x7b]);
    await t.node.publish('chat:lobby', bytes);
    await t.node.publish('chat:other', new Uint8Array([9]));
    await until(() => got.length >= 1);
    expect(got[0]![0]).toBe('chat/lobby');
    expect([...got[0]![1]]).toEqual([...bytes]);
    expect(got).toHaveLength(1);
  });

  it('acknowledges a QoS 1 publish only once it is in the channel history', async () => {
    const client = await connect(version);
    await client.publishAsync('chat/room', Buffer.from('{"a":1}'), { qos: 1 });
    const h = await t.node.history('chat:room', { limit: 10 });
    expect(h.publications.map((p) => Buffer.from(p.data).toString())).toEqual(['{"a":1}']);
  });

  it('delivers the latest publication as a retained message on subscribe', async () => {
    await t.node.publish('chat:news', Buffer.from('old'));
    await t.node.publish('chat:news', Buffer.from('latest'));
    const client = await connect(version);
    const got: Array<[string, boolean]> = [];
    client.on('message', (_topic, payload, packet) => got.push([payload.toString(), packet.retain]));
    await client.subscribeAsync('chat/news', { qos: 0 });
    await until(() => got.length >= 1);
    await t.node.publish('chat:news', Buffer.from('live'));
    await until(() => got.length >= 2);
    expect(got).toEqual([
      ['latest', true],
      ['live', false],
    ]);
  });

  it('refuses a subscription the namespace does not allow, and malformed wildcard filters', async () => {
    const client = await connect(version);
    // MQTT.js fails the subscribe when a code is a failure; the SUBACK is on the error.
    const err = await client.subscribeAsync(['ro/x', 'secret/x', 'chat:a/#'], { qos: 0 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e,
    );
    expect(err?.packet?.granted).toEqual(version === 5 ? [0, 0x8f, 0x8f] : [0, 0x80, 0x80]);
    // The refused ones left no subscription behind; the granted one works.
    const got: string[] = [];
    client.on('message', (topic) => got.push(topic));
    await t.node.publish('ro:x', Buffer.from('1'));
    await until(() => got.length === 1);
    expect(got).toEqual(['ro/x']);
  });

  it('publishes the will when the connection drops, not after a normal DISCONNECT', async () => {
    const watcher = await connect(version);
    const got: string[] = [];
    watcher.on('message', (_topic, payload) => got.push(payload.toString()));
    await watcher.subscribeAsync('chat/wills', { qos: 1 });
    const polite = await connect(version, {
      will: { topic: 'chat/wills', payload: Buffer.from('polite'), qos: 1, retain: false },
    });
    await polite.endAsync();
    const dropped = await connect(version, {
      will: { topic: 'chat/wills', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    dropped.stream.destroy();
    await until(() => got.length >= 1);
    expect(got).toEqual(['gone']);
  });

  it('keeps a 3.1.1 QoS 2 publish once (downgraded to exactly one store) and a 5.0 one is refused', async () => {
    const client = await connect(version);
    if (version === 4) {
      await client.publishAsync('chat/q2', 'once', { qos: 2 });
      const h = await t.node.history('chat:q2', { limit: 10 });
      expect(h.publications.map((p) => Buffer.from(p.data).toString())).toEqual(['once']);
    } else {
      const reason = new Promise<number | undefined>((resolve) =>
        client.once('disconnect', (p) => resolve(p.reasonCode)),
      );
      client.publish('chat/q2', 'twice', { qos: 2 });
      expect(await reason).toBe(0x9b);
    }
  });

  it('rejects a connection with a bad token', async () => {
    const client = mqtt.connect(t.url, {
      protocolVersion: version,
      username: 'x',
      password: 'nope',
      reconnectPeriod: 0,
    });
    clients.push(client);
    const err = await new Promise<Error & { code?: number }>((resolve) => client.once('error', resolve));
    expect(err.code).toBe(version === 5 ? 0x86 : 4);
  });
});

describe('MQTT over TLS', () => {
  it('serves MQTT.js over mqtts with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-tls-'));
    try {
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
          ...[
            '-keyout',
            key,
            '-out',
            cert,
            '-days',
            '1',
            '-subj',
            '/CN=localhost',
            '-addext',
            'subjectAltName=IP:127.0.0.1',
          ],
        ],
        { stdio: 'ignore' },
      );
      const address = await t.edge.listen(0, '127.0.0.1', { cert: readFileSync(cert), key: readFileSync(key) });
      const client = mqtt.connect(`mqtts://127.0.0.1:${address.port}`, {
        ca: readFileSync(cert),
        username: 'alice',
        password: await t.token(),
        reconnectPeriod: 0,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const got: string[] = [];
      client.on('message', (_topic, payload) => got.push(payload.toString()));
      await client.subscribeAsync('chat/tls', { qos: 1 });
      await t.node.publish('chat:tls', Buffer.from('secure'));
      await until(() => got.length === 1);
      expect(got).toEqual(['secure']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
