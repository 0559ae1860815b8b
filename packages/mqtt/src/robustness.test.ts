import { type Socket, connect as tcpConnect } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

let t: TestEdge;

beforeEach(async () => {
  t = await startTestEdge({ maxPacketSizeBytes: 4096, maxInflight: 5, maxQueuedMessages: 20 });
});
afterEach(async () => {
  await t.close();
});

/** An in-memory duplex: what the edge writes is collected, `feed` hands it bytes. */
function memoryStream(): { stream: Duplex; written: Buffer[]; feed(bytes: Uint8Array): void; closed(): boolean } {
  const written: Buffer[] = [];
  let ended = false;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  stream.on('close', () => {
    ended = true;
  });
  return { stream, written, feed: (bytes) => stream.push(Buffer.from(bytes)), closed: () => ended || stream.destroyed };
}

const gen = (p: Packet, v = 4) => mqttPacket.generate(p, { protocolVersion: v });

describe('decoder path', () => {
  it('survives ≥ 10,000 random and mutated packets: bad input closes the connection, the node keeps serving', async () => {
    const password = Buffer.from(await t.token());
    const valid = [
      gen({ cmd: 'connect', clientId: 'f', protocolVersion: 4, clean: true, keepalive: 0 } as Packet),
      gen({
        cmd: 'connect',
        clientId: 'fa',
        protocolVersion: 4,
        clean: false,
        keepalive: 0,
        username: 'a',
        password,
      } as Packet),
      gen({ cmd: 'connect', clientId: 'f5', protocolVersion: 5, clean: true, keepalive: 0 } as Packet, 5),
      gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat/a', qos: 1 }] } as Packet),
      gen({
        cmd: 'publish',
        topic: 'chat/a',
        payload: Buffer.from('x'),
        qos: 1,
        messageId: 2,
        retain: false,
        dup: false,
      }),
      gen({ cmd: 'pingreq' }),
    ];
    let runs = 0;
    const feedAll = (chunks: Uint8Array[]) => {
      const m = memoryStream();
      t.edge.handle(m.stream);
      for (const c of chunks) m.feed(c);
      m.stream.destroy();
      runs++;
    };
    // Pure noise.
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 4 }), (chunks) =>
        feedAll(chunks),
      ),
      { numRuns: 5000 },
    );
    // Valid packets with bytes flipped, truncated or spliced.
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (a, b, flips, cut) => {
          const bytes = Buffer.concat([a, b]);
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          feedAll([bytes.subarray(0, (cut % bytes.length) + 1)]);
        },
      ),
      { numRuns: 5000 },
    );
    expect(runs).toBeGreaterThanOrEqual(10_000);
    // The node still serves a real client.
    const client = mqtt.connect(t.url, { username: 'a', password: await t.token(), reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('chat/alive', { qos: 0 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await t.node.publish('chat:alive', Buffer.from('yes'));
    expect(await got).toBe('yes');
    await client.endAsync();
  });

  it('answers a malformed 5.0 packet with DISCONNECT 0x81 and closes', async () => {
    const m = memoryStream();
    t.edge.handle(m.stream);
    const password = Buffer.from(await t.token());
    m.feed(
      gen(
        {
          cmd: 'connect',
          clientId: 'm5',
          protocolVersion: 5,
          clean: true,
          keepalive: 0,
          username: 'a',
          password,
        } as Packet,
        5,
      ),
    );
    await until(() => m.written.length > 0);
    expect(m.closed()).toBe(false);
    // A PUBLISH with QoS 3 is malformed (§3.3.1.2).
    m.feed(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]));
    await until(() => m.closed());
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: Packet[] = [];
    parser.on('packet', (p: Packet) => packets.push(p));
    parser.parse(Buffer.concat(m.written));
    expect(packets.map((p) => p.cmd)).toContain('disconnect');
    const disconnect = packets.find((p) => p.cmd === 'disconnect') as { reasonCode?: number } | undefined;
    expect(disconnect?.reasonCode).toBe(0x81);
  });
});

describe('limits', () => {
  it('disconnects a 5.0 client that sends a packet over the maximum packet size with 0x95', async () => {
    const client = mqtt.connect(t.url, {
      protocolVersion: 5,
      username: 'a',
      password: await t.token(),
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const reason = new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    client.publish('chat/big', Buffer.alloc(8192, 1), { qos: 0 });
    expect(await reason).toBe(0x95);
    client.end(true);
  });

  it('cuts a 3.1.1 client announcing an oversize packet before buffering it', async () => {
    const socket = await rawClient();
    // Remaining length 10 MB announced, only a few bytes sent.
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x05, 0x00]));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  });

  it('closes a client silent for 1.5 × its keep-alive', async () => {
    const socket = tcpConnect(t.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const password = Buffer.from(await t.token());
    socket.resume();
    socket.write(
      gen({
        cmd: 'connect',
        clientId: 'ka',
        protocolVersion: 4,
        clean: true,
        keepalive: 1,
        username: 'a',
        password,
      } as Packet),
    );
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(t.edge.numClients).toBe(0);
  });

  it('resolves 5.0 topic aliases and refuses one over the maximum with 0x94', async () => {
    const client = mqtt.connect(t.url, {
      protocolVersion: 5,
      username: 'a',
      password: await t.token(),
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.publishAsync('chat/alias', 'one', { qos: 1, properties: { topicAlias: 3 } });
    // Empty topic + alias 3 = chat/alias.
    await client.publishAsync('', 'two', { qos: 1, properties: { topicAlias: 3 } });
    const h = await t.node.history('chat:alias', { limit: 10 });
    expect(h.publications.map((p) => Buffer.from(p.data).toString())).toEqual(['one', 'two']);
    client.end(true);
    // MQTT.js itself refuses an alias over the server's maximum, so that one is sent raw.
    const m = memoryStream();
    t.edge.handle(m.stream);
    const password = Buffer.from(await t.token());
    m.feed(
      gen(
        {
          cmd: 'connect',
          clientId: 'al',
          protocolVersion: 5,
          clean: true,
          keepalive: 0,
          username: 'a',
          password,
        } as Packet,
        5,
      ),
    );
    await until(() => m.written.length > 0);
    m.feed(
      gen(
        {
          cmd: 'publish',
          topic: 'chat/alias',
          payload: Buffer.from('x'),
          qos: 0,
          retain: false,
          dup: false,
          properties: { topicAlias: 999 },
        } as Packet,
        5,
      ),
    );
    await until(() => m.closed());
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: Array<{ cmd: string; reasonCode?: number }> = [];
    parser.on('packet', (p: Packet) => packets.push(p as { cmd: string; reasonCode?: number }));
    parser.parse(Buffer.concat(m.written));
    expect(packets.find((p) => p.cmd === 'disconnect')?.reasonCode).toBe(0x94);
  });

  it('disconnects a subscriber that never acknowledges QoS 1, with inflight and queue bounded', async () => {
    const socket = await rawClient();
    socket.write(gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat/flood', qos: 1 }] } as Packet));
    const parser = mqttPacket.parser();
    const publishes: number[] = [];
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'publish') publishes.push(p.messageId ?? 0);
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    await until(() => t.node.info().numSubs === 1);
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    for (let i = 0; i < 200 && !closed; i++) await t.node.publish('chat:flood', Buffer.from(`p${i}`));
    await until(() => closed);
    // Never more in flight than the limit (5), and the client was cut before 200 were queued.
    expect(publishes.length).toBe(5);
    expect(t.edge.numClients).toBe(0);
    expect(t.node.info().numSubs).toBe(0);
  });
});

describe('session pings', () => {
  it('answers the Tidings session pings itself, so an idle MQTT client stays connected', async () => {
    const fast = await startTestEdge({}, { pingIntervalMs: 150, pongTimeoutMs: 100 });
    try {
      const client = mqtt.connect(fast.url, { username: 'a', password: await fast.token(), reconnectPeriod: 0 });
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      let closed = false;
      client.on('close', () => {
        closed = true;
      });
      await client.subscribeAsync('chat/idle', { qos: 0 });
      // Many ping/pong rounds go by (a missed pong would close the session after 100 ms).
      await new Promise((r) => setTimeout(r, 1500));
      expect(closed).toBe(false);
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await fast.node.publish('chat:idle', Buffer.from('still here'));
      expect(await got).toBe('still here');
      client.end(true);
    } finally {
      await fast.close();
    }
  });
});

async function rawClient(): Promise<Socket> {
  const socket = tcpConnect(t.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    gen({
      cmd: 'connect',
      clientId: 'raw',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      username: 'a',
      password: Buffer.from(await t.token()),
    } as Packet),
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return socket;
}
