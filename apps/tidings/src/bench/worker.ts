// One load-generator process: holds a slice of the subscribers over one client transport
// (clients/), and records end-to-end latency of every publication.
// Started by run-bench.ts with child_process.fork; talks to it over IPC only.
import * as hdr from 'hdr-histogram-js';
import { adapters, type ClientAdapter, type DeliverySink, type Subscriber } from './clients/index.js';
import {
  type FromWorker,
  maxTrackedLatencyUs,
  newLatencyHistogram,
  nowMicros,
  type ToWorker,
  type WorkerPlan,
} from './messages.js';

class Load implements DeliverySink {
  readonly #plan: WorkerPlan;
  readonly #adapter: ClientAdapter;
  readonly #subscribers = new Set<Subscriber>();
  #histogram = newLatencyHistogram();
  readonly #connectLatency = newLatencyHistogram();
  #connected = 0;
  #deliveries = 0;
  #connectErrors = 0;
  #disconnects = 0;
  #protocolErrors = 0;
  #dropped = 0;
  #stopping = false;
  #firstOpenAt = 0;
  #lastReadyAt = 0;
  #answered = 0;
  #onAllClosed: (() => void) | undefined;

  constructor(plan: WorkerPlan) {
    this.#plan = plan;
    this.#adapter = adapters[plan.transport](
      { url: plan.url, codec: plan.codec, ...(plan.token === undefined ? {} : { token: plan.token }) },
      this,
    );
  }

  /** Opens every subscriber, at most `connectConcurrency` in progress at once; resolves when all answered. */
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
    let subscribed = false;
    let open = true;
    let subscriber: Subscriber | undefined;
    const openedAt = performance.now();
    const settle = (ok: boolean): void => {
      if (!pending) return;
      pending = false;
      subscribed = ok;
      if (ok) this.#recordConnect(openedAt);
      if (ok) this.#connected++;
      else this.#connectErrors++;
      answered();
    };
    subscriber = this.#adapter.open(channel, this.#sourceAddress(local), {
      settle,
      closed: () => {
        if (!open) return;
        open = false;
        if (subscriber !== undefined) this.#subscribers.delete(subscriber);
        if (pending) settle(false);
        else if (subscribed && !this.#stopping) {
          this.#disconnects++;
          this.#connected--;
        }
        if (this.#subscribers.size === 0) this.#onAllClosed?.();
      },
    });
    if (open) this.#subscribers.add(subscriber);
  }

  delivery(sent: number): void {
    this.#deliveries++;
    if (sent < 0) return;
    this.#histogram.recordValue(Math.min(maxTrackedLatencyUs, Math.max(1, nowMicros() - sent)));
  }

  dropped(): void {
    this.#dropped++;
  }

  protocolError(): void {
    this.#protocolErrors++;
  }

  #recordConnect(openedAt: number): void {
    const us = Math.round((performance.now() - openedAt) * 1000);
    this.#connectLatency.recordValue(Math.min(maxTrackedLatencyUs, Math.max(1, us)));
  }

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
      dropped: this.#dropped,
    };
  }

  ready(): FromWorker {
    const connect = this.#connectLatency;
    const connectHistogram = connect.totalCount === 0 ? '' : hdr.encodeIntoCompressedBase64(connect);
    return {
      type: 'ready',
      firstOpenAt: this.#firstOpenAt,
      lastReadyAt: this.#lastReadyAt,
      connectHistogram,
      ...this.counters(),
    };
  }

  /** Closes every subscriber gracefully and resolves once they are closed, or drops them after 5 s. */
  async close(): Promise<void> {
    this.#stopping = true;
    if (this.#subscribers.size > 0) {
      const closed = new Promise<void>((resolve) => (this.#onAllClosed = resolve));
      for (const subscriber of this.#subscribers) subscriber.close();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
      await Promise.race([closed, timeout]);
    }
    for (const subscriber of this.#subscribers) subscriber.destroy();
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
