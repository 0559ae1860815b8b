import { type Codec, type Disconnect, jsonCodec, protobufCodec } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import type { Transport, WriteResumer } from '../transport/types.js';
import { EncodedPush, type SharedFrameBuilder } from './encoded-push.js';
import type { Flushable, FlushQueue } from './flush-scheduler.js';
import { SessionWriter } from './writer.js';

const td = new TextDecoder();

/** Records what the writer hands over; `shared` toggles the optional fast-path method. */
class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly unidirectional = false;
  readonly writes: Uint8Array[] = [];
  readonly sharedWrites: EncodedPush[] = [];
  bufferedBytes = 0;
  writeShared: ((encoded: EncodedPush) => void) | undefined;
  constructor(
    readonly codec: Codec,
    shared: boolean,
  ) {
    if (shared) this.writeShared = (encoded) => this.sharedWrites.push(encoded);
  }
  write(frame: Uint8Array): void {
    this.writes.push(frame);
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(_disconnect: Disconnect): void {}
}

/** A transport that says it is still writing while `writing` is set, and records who to resume. */
class HoldingTransport extends RecordingTransport {
  writing = false;
  readonly resumers: WriteResumer[] = [];
  constructor(codec: Codec) {
    super(codec, false);
  }
  holdWhileWriting(resumer: WriteResumer): boolean {
    if (!this.writing) return false;
    this.resumers.push(resumer);
    return true;
  }
}

/** A scheduler that only records; the test flushes by hand. */
function manualScheduler(): FlushQueue & { items: Flushable[] } {
  const items: Flushable[] = [];
  return { items, schedule: (item: Flushable) => void items.push(item) };
}

const pub = (n: number) =>
  new EncodedPush({ channel: 'c', pub: { data: new TextEncoder().encode(`${n}`), offset: n } });

describe('SessionWriter', () => {
  it('hands a batch that is one shared push to writeShared, once per flush', () => {
    const transport = new RecordingTransport(jsonCodec, true);
    const scheduler = manualScheduler();
    const writer = new SessionWriter(transport, scheduler, 1 << 20, { writerOverflowed: () => {} });
    const encoded = pub(1);
    expect(writer.enqueueShared(encoded)).toBe(true);
    expect(scheduler.items).toEqual([writer]);
    writer.flush();
    expect(transport.sharedWrites).toEqual([encoded]);
    expect(transport.writes).toEqual([]);
    expect(writer.queuedBytes).toBe(0);
  });

  it('joins a mixed batch in enqueue order through write', () => {
    const transport = new RecordingTransport(jsonCodec, true);
    const writer = new SessionWriter(transport, manualScheduler(), 1 << 20, { writerOverflowed: () => {} });
    writer.enqueue(jsonCodec.encodeReply({ id: 1 }));
    writer.enqueueShared(pub(2));
    writer.enqueueShared(pub(3));
    writer.flush();
    expect(transport.sharedWrites).toEqual([]);
    expect(td.decode(transport.writes[0]).split('\n')).toEqual([
      '{"id":1}',
      '{"push":{"channel":"c","pub":{"data":2,"offset":2}}}',
      '{"push":{"channel":"c","pub":{"data":3,"offset":3}}}',
    ]);
    // The next turn starts empty (the swapped buffer was cleared).
    writer.enqueueShared(pub(4));
    writer.flush();
    expect(transport.sharedWrites.length).toBe(1);
  });

  it('hands a batch of shared pushes only to writeSharedMany, and mixed batches still to write', () => {
    const transport = new RecordingTransport(jsonCodec, true);
    const batches: EncodedPush[][] = [];
    const many = Object.assign(transport, {
      writeSharedMany: (batch: readonly EncodedPush[]) => void batches.push([...batch]),
    });
    const writer = new SessionWriter(many, manualScheduler(), 1 << 20, { writerOverflowed: () => {} });
    const [a, b] = [pub(1), pub(2)];
    writer.enqueueShared(a);
    writer.enqueueShared(b);
    writer.flush();
    expect(batches).toEqual([[a, b]]);
    expect(transport.writes).toEqual([]);
    writer.enqueue(jsonCodec.encodeReply({ id: 7 }));
    writer.enqueueShared(pub(3));
    writer.flush();
    expect(batches).toHaveLength(1);
    expect(transport.writes).toHaveLength(1);
  });

  it('writes the shared unit itself to a transport without writeShared', () => {
    const transport = new RecordingTransport(protobufCodec, false);
    const writer = new SessionWriter(transport, manualScheduler(), 1 << 20, { writerOverflowed: () => {} });
    const encoded = pub(5);
    writer.enqueueShared(encoded);
    writer.flush();
    expect(transport.writes).toEqual([encoded.unitFor(protobufCodec)]);
  });

  it('counts shared units and the transport buffer against maxQueueBytes (3008 path)', () => {
    const transport = new RecordingTransport(jsonCodec, true);
    let overflows = 0;
    const size = pub(1).unitFor(jsonCodec).byteLength;
    const writer = new SessionWriter(transport, manualScheduler(), size * 2 + 10, {
      writerOverflowed: () => overflows++,
    });
    expect(writer.enqueueShared(pub(1))).toBe(true);
    expect(writer.queuedBytes).toBe(size);
    transport.bufferedBytes = size + 5;
    expect(writer.enqueueShared(pub(2))).toBe(false);
    expect(overflows).toBe(1);
    writer.flush();
    expect(transport.sharedWrites).toEqual([]);
  });

  it('keeps what a transport enqueues while being written to for the next flush, in order', () => {
    const transport = new RecordingTransport(jsonCodec, false);
    const scheduler = manualScheduler();
    const writer = new SessionWriter(transport, scheduler, 1 << 20, { writerOverflowed: () => {} });
    const first = jsonCodec.encodeReply({ id: 1 });
    const second = jsonCodec.encodeReply({ id: 2 });
    const third = jsonCodec.encodeReply({ id: 3 });
    let reentered = false;
    const write = transport.write.bind(transport);
    transport.write = (frame) => {
      write(frame);
      if (!reentered) {
        reentered = true;
        writer.enqueue(third);
      }
    };
    writer.enqueue(first);
    writer.enqueue(second);
    writer.flush();
    expect(writer.queuedBytes).toBe(third.byteLength);
    expect(scheduler.items).toEqual([writer, writer]);
    writer.flush();
    expect(transport.writes.map((w) => td.decode(w))).toEqual(['{"id":1}\n{"id":2}', '{"id":3}']);
    writer.flush();
    expect(transport.writes).toHaveLength(2);
  });
});

describe('EncodedPush.frameFor', () => {
  it('builds once per codec and builder and shares the result', () => {
    let builds = 0;
    const builder: SharedFrameBuilder = {
      build(unit) {
        builds++;
        return Uint8Array.of(0xaa, ...unit);
      },
    };
    const encoded = pub(7);
    const a = encoded.frameFor(jsonCodec, builder);
    expect(encoded.frameFor(jsonCodec, builder)).toBe(a);
    expect(a.subarray(1)).toEqual(encoded.unitFor(jsonCodec));
    const b = encoded.frameFor(protobufCodec, builder);
    expect(b).not.toBe(a);
    expect(builds).toBe(2);
  });

  it('holds units while the transport is still writing and sends them as one frame when it is done', () => {
    const transport = new HoldingTransport(jsonCodec);
    const scheduler = manualScheduler();
    const writer = new SessionWriter(transport, scheduler, 1 << 20, { writerOverflowed: () => {} });
    transport.writing = true;
    writer.enqueueShared(pub(1));
    writer.flush();
    writer.enqueueShared(pub(2));
    writer.flush();
    writer.enqueueShared(pub(3));
    writer.flush();
    // One promise of a resume, however many flushes came while the write was in progress.
    expect(transport.resumers).toEqual([writer]);
    expect(transport.writes).toEqual([]);
    transport.writing = false;
    transport.resumers[0]!.resume();
    expect(transport.writes.map((w) => td.decode(w))).toEqual([
      [1, 2, 3].map((n) => td.decode(jsonCodec.encodePush(pub(n).push))).join('\n'),
    ]);
    expect(writer.queuedBytes).toBe(0);
  });

  it('writes at once when the transport has nothing in progress', () => {
    const transport = new HoldingTransport(jsonCodec);
    const writer = new SessionWriter(transport, manualScheduler(), 1 << 20, { writerOverflowed: () => {} });
    writer.enqueueShared(pub(1));
    writer.flush();
    expect(transport.resumers).toEqual([]);
    expect(transport.writes).toHaveLength(1);
  });

  it('drainAndClose writes held units before the close even mid-write', () => {
    const transport = new HoldingTransport(jsonCodec);
    const writer = new SessionWriter(transport, manualScheduler(), 1 << 20, { writerOverflowed: () => {} });
    transport.writing = true;
    writer.enqueueShared(pub(1));
    writer.flush();
    writer.drainAndClose();
    expect(transport.writes).toHaveLength(1);
    transport.resumers[0]!.resume();
    expect(transport.writes).toHaveLength(1);
  });

  it("pushFraming 'separate' writes one frame per unit, in order", () => {
    const transport = new RecordingTransport(protobufCodec, true);
    const writer = new SessionWriter(transport, manualScheduler(), 1 << 20, { writerOverflowed: () => {} }, 'separate');
    for (const n of [1, 2, 3]) writer.enqueueShared(pub(n));
    writer.flush();
    expect(transport.writes).toEqual([1, 2, 3].map((n) => protobufCodec.encodePush(pub(n).push)));
  });
});
