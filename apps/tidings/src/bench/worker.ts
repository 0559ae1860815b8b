// One load-generator process: holds a slice of the subscribers, speaks the Centrifuge protocol
// (connect, subscribe, answer pings), and records end-to-end latency of every publication.
// Started by run-bench.ts with child_process.fork; talks to it over IPC only.
import { type ClientCodec, codecFor, msgpackSubprotocol, protobufSubprotocol, type Reply } from '@tidings/protocol';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import {
  type FromWorker,
  maxTrackedLatencyUs,
  newLatencyHistogram,
  nowMicros,
  readSendTime,
  splitJsonPushes,
  type ToWorker,
  type WorkerPlan,
} from './messages.js';

const connectId = 1;
const subscribeId = 2;

class Load {
  readonly #plan: WorkerPlan;
  readonly #codec: ClientCodec;
  readonly #sockets = new Set<WebSocket>();
  #histogram = newLatencyHistogram();
  #connected = 0;
  #deliveries = 0;
  #connectErrors = 0;
  #disconnects = 0;
  #protocolErrors = 0;
  #stopping = false;
  #firstOpenAt = 0;
  #lastReadyAt = 0;
  #answered = 0;
  readonly #pong: Uint8Array;

  constructor(plan: WorkerPlan) {
    this.#plan = plan;
    this.#codec = codecFor(plan.codec);
    this.#pong = this.#codec.encodeCommands([{}]);
  }

  /** Opens every socket, at most `connectConcurrency` in progress at once; resolves when all answered. */
  async open(): Promise<void> {
    const { count, connectConcurrency } = this.#plan;
    this.#firstOpenAt = Date.now();
    let next = 0;
    await new Promise<void>((resolve) => {
      if (count === 0) resolve();
      const launch = (): void => {
        while (next < count && next - this.#answered < connectConcurrency) this.#openOne(next++, onAnswer);
      };
      const onAnswer = (): void => {
        this.#answered++;
        if (this.#answered === count) resolve();
        else launch();
      };
      launch();
    });
    this.#lastReadyAt = Date.now();
  }

  #sourceAddress(local: number): string {
    const { index, workers, socketsPerAddress } = this.#plan;
    const slot = index + workers * Math.floor(local / socketsPerAddress);
    return `127.0.0.${1 + (slot % 254)}`;
  }

  #openOne(local: number, answered: () => void): void {
    const plan = this.#plan;
    const channel = `${plan.channelPrefix}${(plan.first + local) % plan.channels}`;
    let pending = true;
    const settle = (ok: boolean): void => {
      if (!pending) return;
      pending = false;
      if (ok) this.#connected++;
      else this.#connectErrors++;
      answered();
    };
    const subprotocols = { json: [], protobuf: [protobufSubprotocol], msgpack: [msgpackSubprotocol] }[plan.codec];
    const socket = new WebSocket(plan.url, subprotocols, {
      localAddress: this.#sourceAddress(local),
      perMessageDeflate: false,
    });
    socket.binaryType = 'nodebuffer';
    this.#sockets.add(socket);
    socket.on('open', () => {
      const connect =
        plan.token === undefined ? { name: 'tidings-bench' } : { token: plan.token, name: 'tidings-bench' };
      socket.send(this.#codec.encodeCommands([{ id: connectId, connect }]));
    });
    socket.on('message', (message: Buffer) => {
      const data = plan.codec === 'json' ? splitJsonPushes(message, this.#onPublication) : message;
      if (data.length === 0) return;
      let replies: Reply[];
      try {
        replies = this.#codec.decodeReplies(data);
      } catch {
        this.#protocolErrors++;
        return;
      }
      for (const reply of replies) {
        const pub = reply.push?.pub;
        if (pub !== undefined) this.#onPublication(readSendTime(pub.data));
        else if (reply.id === connectId) {
          if (reply.error !== undefined) settle(false);
          else socket.send(this.#codec.encodeCommands([{ id: subscribeId, subscribe: { channel } }]));
        } else if (reply.id === subscribeId) settle(reply.error === undefined);
        else if (reply.id === undefined && reply.push === undefined) socket.send(this.#pong);
      }
    });
    socket.on('error', () => {
      if (pending) settle(false);
    });
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (pending) settle(false);
      else if (!this.#stopping) {
        this.#disconnects++;
        this.#connected--;
      }
    });
  }

  readonly #onPublication = (sent: number): void => {
    this.#deliveries++;
    if (sent < 0) return;
    this.#histogram.recordValue(Math.min(maxTrackedLatencyUs, Math.max(1, nowMicros() - sent)));
  };

  tick(): FromWorker {
    const interval = this.#histogram;
    this.#histogram = newLatencyHistogram();
    const histogram = interval.totalCount === 0 ? '' : hdr.encodeIntoCompressedBase64(interval);
    interval.destroy();
    return { type: 'tick', histogram, ...this.counters() };
  }

  counters() {
    return {
      connected: this.#connected,
      deliveries: this.#deliveries,
      connectErrors: this.#connectErrors,
      disconnects: this.#disconnects,
      protocolErrors: this.#protocolErrors,
    };
  }

  ready(): FromWorker {
    return { type: 'ready', firstOpenAt: this.#firstOpenAt, lastReadyAt: this.#lastReadyAt, ...this.counters() };
  }

  /** Closes every socket (normal closure) and resolves once they are closed or after 5 s. */
  async close(): Promise<void> {
    this.#stopping = true;
    const closed = [...this.#sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.close(1000);
        }),
    );
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
    await Promise.race([Promise.all(closed), timeout]);
    for (const socket of this.#sockets) socket.terminate();
  }
}

function send(message: FromWorker): void {
  process.send?.(message);
}

let load: Load | undefined;
let ticker: NodeJS.Timeout | undefined;

process.on('message', (message: ToWorker) => {
  if (message.type === 'plan' && load === undefined) {
    const current = new Load(message);
    load = current;
    ticker = setInterval(() => send(current.tick()), 1_000);
    void current.open().then(() => send(current.ready()));
  } else if (message.type === 'stop' && load !== undefined) {
    const current = load;
    clearInterval(ticker);
    send(current.tick());
    void current.close().then(() => {
      send({ type: 'done' });
      process.disconnect?.();
    });
  }
});
// The parent going away ends the worker (no orphaned sockets).
process.on('disconnect', () => process.exit(0));
