import { EventEmitter } from 'node:events';
import { createServer, get, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, decodeCursor, encodeCursor, type Publication, type Reply } from '@tidings/protocol';
import { describe, expect, it, vi } from 'vitest';
import { EncodedPush } from '../../core/encoded-push.js';
import { systemClock } from '../../internal/clock.js';
import { createNdjsonFramer } from '../http-stream/ndjson-framer.js';
import { createSseFramer } from '../sse/sse-framer.js';
import type { EventFramer } from './event-framer.js';
import { OneChannelCursor } from './one-channel-cursor.js';
import { oneWayCodec } from './one-way-codec.js';
import { OneWayTransport } from './one-way-transport.js';
import { sharedChunkBuilder, sharedEventBuilder } from './publication-event.js';

/** A response that records what is written to it. */
class FakeResponse extends EventEmitter {
  readonly writes: Uint8Array[] = [];
  readonly writableLength = 0;
  readonly socket = null;
  writeHead(): this {
    return this;
  }
  write(chunk: Uint8Array | string): boolean {
    this.writes.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return true;
  }
  bytes(): string {
    return Buffer.concat(this.writes).toString('utf8');
  }
}

type Positions = Record<string, { epoch: string; offset: number }>;

/** An open stream on `positions` (the subscribe results), with `writes` reset after `connected`. */
async function openStream(framer: EventFramer, positions: Positions, encoding?: 'gzip') {
  const res = new FakeResponse();
  return { res, ...(await subscribe(res as unknown as ServerResponse, framer, positions, encoding)) };
}

/** A transport on `res` through the handshake (connect, then one subscribe per channel). */
async function subscribe(res: ServerResponse, framer: EventFramer, positions: Positions, encoding?: 'gzip') {
  const transport = new OneWayTransport(res, {
    framer,
    resume: {},
    heartbeatIntervalMs: 60_000,
    closeGraceMs: 1_000,
    clock: systemClock,
    ...(encoding !== undefined ? { encoding } : {}),
  });
  const commands: Command[] = [];
  transport.attach({ handleCommands: (c) => void commands.push(...c), transportClosed: () => {} });
  const connected = transport.request({ connect: {} });
  transport.write(oneWayCodec.encodeReply({ id: commands[0]?.id ?? 0, connect: { client: 'c1' } }));
  await connected;
  for (const [channel, { epoch, offset }] of Object.entries(positions)) {
    const subscribed = transport.request({ subscribe: { channel } }, channel);
    const reply: Reply = { id: commands.at(-1)?.id ?? 0, subscribe: { epoch, offset } };
    transport.write(oneWayCodec.encodeReply(reply));
    await subscribed;
  }
  return { transport, opened: () => transport.open({}) };
}

function publication(channel: string, offset: number, extra: Partial<Publication> = {}): EncodedPush {
  return new EncodedPush({ channel, pub: { data: Buffer.from(`{"n":${offset}}`), offset, ...extra } });
}

/** Writes on `shared` with writeShared and on `plain` with today's per-session path. */
function deliver(encoded: EncodedPush, shared: OneWayTransport, plain: OneWayTransport): void {
  shared.writeShared(encoded);
  plain.write(encoded.unitFor(oneWayCodec));
}

const framers: Array<[string, EventFramer]> = [
  ['sse', createSseFramer({ retryMs: 1_000 })],
  ['ndjson', createNdjsonFramer()],
];

describe.each(framers)('OneWayTransport.writeShared (%s)', (_name, framer) => {
  it('writes one prebuilt event per publication, byte for byte the per-session one', async () => {
    const a = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    const b = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    const plain = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    for (const s of [a, b, plain]) s.opened();
    for (const s of [a, b, plain]) s.res.writes.length = 0;
    const pubs = [publication('room', 6, { tags: { k: 'v' } }), publication('room', 7)];
    for (const encoded of pubs) {
      deliver(encoded, a.transport, plain.transport);
      b.transport.writeShared(encoded);
    }
    expect(a.res.bytes()).toBe(plain.res.bytes());
    expect(a.res.bytes()).toContain('"tags":{"k":"v"}');
    // Shared: the very buffer every such subscriber writes.
    for (const [i, encoded] of pubs.entries()) {
      const frame = encoded.frameFor(oneWayCodec, sharedEventBuilder(framer), 'e1');
      expect(a.res.writes[i]).toBe(frame);
      expect(b.res.writes[i]).toBe(frame);
    }
  });

  it('advances the position, so later per-session events carry the right cursor', async () => {
    const a = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    const plain = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    a.opened();
    plain.opened();
    deliver(publication('room', 6), a.transport, plain.transport);
    // A batch of two takes the per-session path on both.
    const batch = oneWayCodec.join([
      publication('room', 7).unitFor(oneWayCodec),
      publication('room', 8).unitFor(oneWayCodec),
    ]);
    a.transport.write(batch);
    plain.transport.write(batch);
    deliver(publication('room', 9), a.transport, plain.transport);
    expect(a.res.bytes()).toBe(plain.res.bytes());
    const cursors = [...a.res.bytes().matchAll(/(?:id: |"cursor":")([A-Za-z0-9_-]+)/g)].map((m) => m[1] ?? '');
    expect(decodeCursor(cursors.at(-1) ?? '')).toEqual({ room: { epoch: 'e1', offset: 9 } });
  });

  it('builds the event per epoch: streams on another epoch never share it', async () => {
    const e1 = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    const e2 = await openStream(framer, { room: { epoch: 'e2', offset: 5 } });
    const plain = await openStream(framer, { room: { epoch: 'e2', offset: 5 } });
    for (const s of [e1, e2, plain]) s.opened();
    const encoded = publication('room', 6);
    e1.transport.writeShared(encoded);
    deliver(encoded, e2.transport, plain.transport);
    expect(e2.res.bytes()).toBe(plain.res.bytes());
    expect(e1.res.writes.at(-1)).not.toBe(e2.res.writes.at(-1));
    expect(e2.res.bytes()).toContain('"epoch":"e2"');
  });

  it('falls back to the per-session path for several channels, a gap, the handshake and compression', async () => {
    const cases = [
      { positions: { a: { epoch: 'e1', offset: 5 }, room: { epoch: 'e1', offset: 2 } }, offset: 6, open: true },
      { positions: { room: { epoch: 'e1', offset: 5 } }, offset: 7, open: true },
      { positions: { room: { epoch: 'e1', offset: 5 } }, offset: 6, open: false },
    ];
    for (const c of cases) {
      const shared = await openStream(framer, c.positions);
      const plain = await openStream(framer, c.positions);
      if (c.open) {
        shared.opened();
        plain.opened();
      }
      const encoded = publication('room', c.offset);
      const frameFor = vi.spyOn(encoded, 'frameFor');
      deliver(encoded, shared.transport, plain.transport);
      if (!c.open) {
        shared.opened();
        plain.opened();
      }
      expect(frameFor).not.toHaveBeenCalled();
      expect(shared.res.bytes()).toBe(plain.res.bytes());
      expect(shared.res.bytes()).toContain(`"offset":${c.offset}`);
    }
    const compressed = await openStream(framer, { room: { epoch: 'e1', offset: 5 } }, 'gzip');
    compressed.opened();
    const encoded = publication('room', 6);
    const frameFor = vi.spyOn(encoded, 'frameFor');
    compressed.transport.writeShared(encoded);
    expect(frameFor).not.toHaveBeenCalled();
  });
});

describe.each(framers)('OneWayTransport.writeSharedMany (%s)', (_name, framer) => {
  it('writes a contiguous batch as the prebuilt events, byte for byte the per-session batch', async () => {
    const shared = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    const plain = await openStream(framer, { room: { epoch: 'e1', offset: 5 } });
    for (const s of [shared, plain]) s.opened();
    for (const s of [shared, plain]) s.res.writes.length = 0;
    const batch = [publication('room', 6), publication('room', 7, { tags: { k: 'v' } }), publication('room', 8)];
    shared.transport.writeSharedMany(batch);
    plain.transport.write(oneWayCodec.join(batch.map((e) => e.unitFor(oneWayCodec))));
    expect(shared.res.bytes()).toBe(plain.res.bytes());
    // The position moved past the batch: the next one-off event is shared and correct too.
    const next = publication('room', 9);
    shared.transport.writeShared(next);
    plain.transport.write(next.unitFor(oneWayCodec));
    expect(shared.res.bytes()).toBe(plain.res.bytes());
    const cursors = [...shared.res.bytes().matchAll(/(?:id: |"cursor":")([A-Za-z0-9_-]+)/g)].map((m) => m[1] ?? '');
    expect(decodeCursor(cursors.at(-1) ?? '')).toEqual({ room: { epoch: 'e1', offset: 9 } });
  });

  it('sends a batch with a gap, or on a stream of several channels, through the per-session path', async () => {
    const gapped = [publication('room', 6), publication('room', 8)];
    const cases: Array<{ positions: Positions; batch: EncodedPush[] }> = [
      { positions: { room: { epoch: 'e1', offset: 5 } }, batch: gapped },
      {
        positions: { room: { epoch: 'e1', offset: 5 }, hall: { epoch: 'e1', offset: 0 } },
        batch: [publication('room', 6), publication('room', 7)],
      },
    ];
    for (const c of cases) {
      const shared = await openStream(framer, c.positions);
      const plain = await openStream(framer, c.positions);
      for (const s of [shared, plain]) s.opened();
      const spies = c.batch.map((e) => vi.spyOn(e, 'frameFor'));
      shared.transport.writeSharedMany(c.batch);
      plain.transport.write(oneWayCodec.join(c.batch.map((e) => e.unitFor(oneWayCodec))));
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      expect(shared.res.bytes()).toBe(plain.res.bytes());
    }
  });
});

describe('OneWayTransport over HTTP/1.1', () => {
  it('writes prebuilt chunks to the socket: HTTP clients read the events the per-session path builds', async () => {
    const framer = createSseFramer({ retryMs: 1_000 });
    const responses: ServerResponse[] = [];
    const server = createServer((_req, res) => void responses.push(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const bodies = ['', ''];
    const requests = bodies.map((_, i) =>
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          bodies[i] += d;
        });
      }),
    );
    try {
      await vi.waitFor(() => expect(responses).toHaveLength(2));
      const [sharedRes, plainRes] = responses as [ServerResponse, ServerResponse];
      const positions = { room: { epoch: 'e1', offset: 5 } };
      const shared = await subscribe(sharedRes, framer, positions);
      const plain = await subscribe(plainRes, framer, positions);
      const reference = await openStream(framer, positions);
      for (const s of [shared, plain, reference]) s.opened();
      const socketWrite = vi.spyOn(sharedRes.socket!, 'write');
      const pubs = [publication('room', 6), publication('room', 7, { tags: { k: 'v' } })];
      for (const encoded of pubs) {
        deliver(encoded, shared.transport, plain.transport);
        reference.transport.write(encoded.unitFor(oneWayCodec));
      }
      const chunks = sharedChunkBuilder(framer);
      for (const encoded of pubs) {
        expect(socketWrite).toHaveBeenCalledWith(encoded.frameFor(oneWayCodec, chunks, 'e1'));
      }
      // A busy turn: three at once, corked into one socket write on the shared stream.
      const batch = [publication('room', 8), publication('room', 9), publication('room', 10)];
      const cork = vi.spyOn(sharedRes.socket!, 'cork');
      shared.transport.writeSharedMany(batch);
      plain.transport.writeSharedMany(batch);
      reference.transport.write(oneWayCodec.join(batch.map((e) => e.unitFor(oneWayCodec))));
      expect(cork).toHaveBeenCalledTimes(1);
      for (const encoded of batch) {
        expect(socketWrite).toHaveBeenCalledWith(encoded.frameFor(oneWayCodec, chunks, 'e1'));
      }
      const expected = reference.res.bytes();
      await vi.waitFor(() => expect(bodies).toEqual([expected, expected]));
    } finally {
      for (const r of requests) r.destroy();
      for (const r of responses) r.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OneChannelCursor', () => {
  it('is exactly encodeCursor for one channel, at any offset', () => {
    const channels = ['room', 'bench:fan-0', 'ü-チャンネル', 'x'.repeat(200), '__proto__'];
    const offsets = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];
    for (const channel of channels) {
      for (const epoch of ['', 'e1', 'Ab-_'.repeat(16)]) {
        const cursor = new OneChannelCursor(channel, epoch);
        for (const offset of offsets) {
          expect(cursor.at(channel, offset)).toBe(encodeCursor({ [channel]: { epoch, offset } }));
        }
      }
    }
    expect(() => new OneChannelCursor('room', 'not url-safe')).toThrow();
    expect(() => new OneChannelCursor('room', 'e1').at('room', -1)).toThrow();
  });
});
