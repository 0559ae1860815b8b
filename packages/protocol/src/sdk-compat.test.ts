import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientCodec, Codec } from './codec.js';
import { jsonCodec } from './json-codec.js';
import type { Command, Reply } from './messages.js';
import { protobufCodec } from './protobuf-codec.js';

/**
 * Wire compatibility with the public Centrifuge JavaScript SDK (centrifuge 5, both its JSON build
 * and its Protobuf build with its own protobuf definitions): the SDK talks through an in-memory
 * WebSocket to a scripted server that decodes every SDK frame with our codec and answers with
 * frames our codec encodes. The SDK's events prove it read our bytes; our decoded commands prove
 * we read its bytes.
 */

const te = new TextEncoder();
const td = new TextDecoder();

type Codecs = Codec & ClientCodec;

/** The server end: decodes SDK frames with our codec, answers through `respond`. */
class ScriptedServer {
  readonly commands: Command[] = [];
  socket: FakeSocket | undefined;
  constructor(
    readonly codec: Codecs,
    readonly respond: (command: Command) => Reply | undefined,
  ) {}

  receive(frame: string | Uint8Array): void {
    const bytes = typeof frame === 'string' ? te.encode(frame) : new Uint8Array(frame);
    const replies: Uint8Array[] = [];
    for (const command of this.codec.decodeCommands(bytes)) {
      this.commands.push(command);
      const reply = this.respond(command);
      if (reply !== undefined) replies.push(this.codec.encodeReply(reply));
    }
    // Answers to one SDK frame go back as one batch, which exercises `join`.
    if (replies.length > 0) this.send(this.codec.join(replies));
  }

  send(frame: Uint8Array): void {
    const socket = this.socket as FakeSocket;
    const data = this.codec.binary ? frame.slice().buffer : td.decode(frame);
    setTimeout(() => socket.onmessage?.({ data }), 0);
  }
}

/** The browser WebSocket surface the SDK uses, in memory. */
class FakeSocket {
  static server: ScriptedServer | undefined;
  binaryType = 'blob';
  onopen: ((e: object) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: object) => void) | null = null;
  readonly #server: ScriptedServer;

  constructor(
    readonly url: string,
    readonly protocol?: string,
  ) {
    this.#server = FakeSocket.server as ScriptedServer;
    this.#server.socket = this;
    setTimeout(() => this.onopen?.({}), 0);
  }

  send(data: string | Uint8Array): void {
    this.#server.receive(data);
  }

  close(): void {
    setTimeout(() => this.onclose?.({ code: 1000, reason: '' }), 0);
  }
}

function nextCommand(server: ScriptedServer, predicate: (c: Command) => boolean): Promise<Command> {
  return new Promise((resolve) => {
    const poll = () => {
      const found = server.commands.find(predicate);
      if (found) resolve(found);
      else setTimeout(poll, 1);
    };
    poll();
  });
}

function respond(command: Command): Reply | undefined {
  const id = command.id ?? 0;
  if (command.connect) return { id, connect: { client: 'c1', version: '0.1.0', ping: 25, pong: true } };
  if (command.subscribe) {
    return { id, subscribe: { recoverable: true, positioned: true, epoch: 'ep', offset: 5 } };
  }
  if (command.presenceStats) return { id, presenceStats: { numClients: 0, numUsers: 0 } };
  if (command.publish) return { id, publish: {} };
  if (command.rpc) return { id, rpc: { data: command.rpc.data ?? new Uint8Array(0) } };
  if (command.history) {
    const data = te.encode('{"n":1}');
    return { id, history: { publications: [{ data, offset: 6, time: 1_700_000_000_000 }], epoch: 'ep', offset: 6 } };
  }
  return undefined;
}

const variants = [
  {
    name: 'json',
    codec: jsonCodec,
    make: (opts: object): Centrifuge => new Centrifuge('ws://tidings.test/connection/websocket', opts),
    payload: (v: unknown) => v,
    received: (d: unknown) => d,
  },
  {
    name: 'protobuf',
    codec: protobufCodec,
    // Same public API as the JSON build; the two declare their private members separately.
    make: (opts: object): Centrifuge =>
      new CentrifugeProtobuf('ws://tidings.test/connection/websocket', opts) as unknown as Centrifuge,
    payload: (v: unknown) => te.encode(JSON.stringify(v)),
    received: (d: unknown) => JSON.parse(td.decode(d as Uint8Array)),
  },
] as const;

describe.each(variants)('centrifuge-js ($name) against our codec', ({ codec, make, payload, received }) => {
  let client: Centrifuge | undefined;
  afterEach(() => client?.disconnect());

  it('connects, subscribes, receives pushes, calls methods and answers pings', async () => {
    const server = new ScriptedServer(codec, respond);
    FakeSocket.server = server;
    const sdk = make({ websocket: FakeSocket, token: 'tok', data: payload({ hello: 'world' }), name: 'sdk-test' });
    client = sdk;
    const connected = new Promise<{ client: string }>((resolve) => sdk.once('connected', resolve));
    sdk.connect();
    expect((await connected).client).toBe('c1');

    const connect = await nextCommand(server, (c) => c.connect !== undefined);
    expect(connect.connect?.token).toBe('tok');
    expect(connect.connect?.name).toBe('sdk-test');
    expect(JSON.parse(td.decode(connect.connect?.data))).toEqual({ hello: 'world' });

    const sub = sdk.newSubscription('news');
    const subscribed = new Promise<{ streamPosition?: { offset: number; epoch: string } }>((resolve) =>
      sub.once('subscribed', resolve),
    );
    sub.subscribe();
    expect((await subscribed).streamPosition).toEqual({ offset: 5, epoch: 'ep' });
    expect((await nextCommand(server, (c) => c.subscribe !== undefined)).subscribe?.channel).toBe('news');

    // Fan-out pushes, through the fast Protobuf path.
    const publication = new Promise<{ data: unknown; offset?: number; tags?: object; info?: { client: string } }>(
      (resolve) => sub.once('publication', resolve),
    );
    const data = codec.binary ? (payload({ price: 101.5 }) as Uint8Array) : te.encode('{"price":101.5}');
    const info = { user: 'u1', client: 'c9', connInfo: te.encode('{"n":"x"}') };
    server.send(codec.encodePush({ channel: 'news', pub: { data, offset: 6, tags: { k: 'v' }, info } }));
    const pub = await publication;
    expect(received(pub.data)).toEqual({ price: 101.5 });
    expect(pub.offset).toBe(6);
    expect(pub.tags).toEqual({ k: 'v' });
    expect(pub.info?.client).toBe('c9');

    const joined = new Promise<{ info: { user: string } }>((resolve) => sub.once('join', resolve));
    server.send(codec.encodePush({ channel: 'news', join: { info: { user: 'u2', client: 'c2' } } }));
    expect((await joined).info.user).toBe('u2');

    const stats = await sub.presenceStats();
    expect(stats).toEqual({ numClients: 0, numUsers: 0 });

    const history = await sub.history({ limit: 10, since: { offset: 1, epoch: 'ep' } });
    expect(history.offset).toBe(6);
    expect(history.epoch).toBe('ep');
    expect(received(history.publications[0]?.data)).toEqual({ n: 1 });
    const historyCommand = await nextCommand(server, (c) => c.history !== undefined);
    expect(historyCommand.history).toEqual({ channel: 'news', limit: 10, since: { offset: 1, epoch: 'ep' } });

    await sub.publish(payload({ say: 'hi' }));
    const published = await nextCommand(server, (c) => c.publish !== undefined);
    expect(published.publish?.channel).toBe('news');
    expect(JSON.parse(td.decode(published.publish?.data))).toEqual({ say: 'hi' });

    const rpc = await sdk.rpc('echo', payload({ x: [1, 2] }));
    expect(received(rpc.data)).toEqual({ x: [1, 2] });

    // The server's ping is the empty reply; the SDK answers with the empty command (pong).
    const before = server.commands.length;
    server.send(codec.encodeReply({}));
    await nextCommand(server, (c) => server.commands.indexOf(c) >= before && Object.keys(c).length === 0);
  });

  it('follows a server disconnect push with its code', async () => {
    const server = new ScriptedServer(codec, respond);
    FakeSocket.server = server;
    const sdk = make({ websocket: FakeSocket });
    client = sdk;
    const connected = new Promise((resolve) => sdk.once('connected', resolve));
    sdk.connect();
    await connected;
    const disconnected = new Promise<{ code: number; reason: string }>((resolve) => sdk.once('disconnected', resolve));
    server.send(codec.encodePush({ disconnect: { code: 3503, reason: 'force disconnect' } }));
    server.socket?.close();
    expect(await disconnected).toMatchObject({ code: 3503, reason: 'force disconnect' });
  });
});
