import { AggregatorRegistry } from 'prom-client';
import type { ClusterMessage } from './messages.js';

/** How long the primary waits for every worker's part of one scrape. */
const collectTimeoutMs = 3_000;

interface Collect {
  readonly requester: (message: ClusterMessage) => void;
  readonly requestId: number;
  readonly parts: object[][];
  waiting: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary's side of `/metrics` with `--workers N`: a worker that received a scrape asks the
 * primary (`metrics-scrape`); the primary asks every listening worker for its registry as JSON
 * (`metrics-collect`), sums them with prom-client's `AggregatorRegistry.aggregate` (each metric
 * by its `aggregator`: sums for counters, histograms and gauges, min for engine readiness,
 * averages for event-loop lag) and answers the asking worker (`metrics-text`). A worker that
 * does not answer within 3 s is left out of that scrape rather than failing it.
 */
export class MetricsRelay {
  readonly #collects = new Map<number, Collect>();
  #nextId = 1;

  /**
   * Handles a metrics message from a worker; returns false for any other message.
   * @param workers senders to every listening worker, the asking one included.
   */
  handle(
    message: ClusterMessage,
    reply: (message: ClusterMessage) => void,
    workers: () => Array<(message: ClusterMessage) => void>,
  ): boolean {
    if (message.tidings === 'metrics-scrape') {
      const targets = workers();
      const id = this.#nextId++;
      const collect: Collect = {
        requester: reply,
        requestId: message.id,
        parts: [],
        waiting: targets.length,
        timer: setTimeout(() => this.#finish(id), collectTimeoutMs),
      };
      this.#collects.set(id, collect);
      for (const send of targets) send({ tidings: 'metrics-collect', id });
      if (targets.length === 0) this.#finish(id);
      return true;
    }
    if (message.tidings === 'metrics-part') {
      const collect = this.#collects.get(message.id);
      if (collect !== undefined) {
        collect.parts.push(message.metrics);
        if (--collect.waiting <= 0) this.#finish(message.id);
      }
      return true;
    }
    return false;
  }

  #finish(id: number): void {
    const collect = this.#collects.get(id);
    if (collect === undefined) return;
    this.#collects.delete(id);
    clearTimeout(collect.timer);
    AggregatorRegistry.aggregate(collect.parts)
      .metrics()
      .then(
        (text) => collect.requester({ tidings: 'metrics-text', id: collect.requestId, text }),
        (error: unknown) =>
          collect.requester({ tidings: 'metrics-text', id: collect.requestId, text: '', error: String(error) }),
      );
  }
}

/**
 * The worker's side: `scrape()` asks the primary for the aggregated text; `handle` answers the
 * primary's `metrics-collect` with this worker's registry and resolves pending scrapes.
 */
export class WorkerMetricsClient {
  readonly #send: (message: ClusterMessage) => void;
  readonly #pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  /** This worker's registry as prom-client JSON; set once the server is up. */
  local: (() => Promise<object[]>) | undefined;

  constructor(send: (message: ClusterMessage) => void) {
    this.#send = send;
  }

  scrape(): Promise<string> {
    const id = this.#nextId++;
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send({ tidings: 'metrics-scrape', id });
    });
  }

  /** Returns false for a message that is not about metrics. */
  handle(message: ClusterMessage): boolean {
    if (message.tidings === 'metrics-collect') {
      const local = this.local;
      const answer = (metrics: object[]) => this.#send({ tidings: 'metrics-part', id: message.id, metrics });
      if (local === undefined) answer([]);
      else local().then(answer, () => answer([]));
      return true;
    }
    if (message.tidings === 'metrics-text') {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.text);
      return true;
    }
    return false;
  }
}
