import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { SeededRandom } from './seeded-random.js';

/**
 * What the proxy does to one direction of a connection. Applied to bytes as they pass:
 * - `latencyMs` + up to `jitterMs` (seeded) before each chunk is forwarded, order kept;
 * - `bytesPerSec`: a bandwidth cap (chunks wait until the budget allows them);
 * - `sliceBytes`: chunks are cut into pieces of at most this many bytes (1 = byte by byte);
 * - `blackhole`: bytes are read and dropped, the connection stays open;
 * - `closeAfterBytes`: after this many bytes in this direction, both sides are closed (FIN);
 * - `resetAfterBytes`: the chunk that would reach this many bytes is dropped and both sides are
 *   reset (RST).
 */
export interface ChaosFaults {
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly bytesPerSec?: number;
  readonly sliceBytes?: number;
  readonly blackhole?: boolean;
  readonly closeAfterBytes?: number;
  readonly resetAfterBytes?: number;
}

/** Options of `startChaosProxy`. */
export interface ChaosProxyOptions {
  /** Where connections go (loopback only in tests). */
  readonly target: { readonly host: string; readonly port: number };
  /** Seed of every random choice (jitter, schedules). Printed by `describe()`. */
  readonly seed: number;
  /** Faults client → target. */
  readonly upstream?: ChaosFaults;
  /** Faults target → client. */
  readonly downstream?: ChaosFaults;
}

/** A running proxy. */
export interface ChaosProxy {
  readonly port: number;
  readonly seed: number;
  /** Replaces the faults applied from now on (to open and new connections). */
  setFaults(faults: { upstream?: ChaosFaults; downstream?: ChaosFaults }): void;
  /** Resets every open connection (both sides). */
  resetAll(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** One line naming the seed and the faults, for test output and reports. */
  describe(): string;
  close(): Promise<void>;
}

/** Forwards one direction with the current faults; the queue keeps chunk order whatever the delays. */
class Pipe {
  readonly #to: Socket;
  readonly #faults: () => ChaosFaults;
  readonly #random: SeededRandom;
  readonly #kill: (reset: boolean) => void;
  #sent = 0;
  #tail: Promise<void> = Promise.resolve();
  #budgetAt = 0;

  constructor(
    from: Socket,
    to: Socket,
    faults: () => ChaosFaults,
    random: SeededRandom,
    kill: (reset: boolean) => void,
  ) {
    this.#to = to;
    this.#faults = faults;
    this.#random = random;
    this.#kill = kill;
    from.on('data', (chunk: Buffer) => this.#push(chunk));
    from.on('end', () => {
      this.#tail = this.#tail.then(() => void to.end());
    });
  }

  #push(chunk: Buffer): void {
    const f = this.#faults();
    if (f.blackhole) return;
    const slice = Math.max(1, f.sliceBytes ?? chunk.length);
    for (let i = 0; i < chunk.length; i += slice) this.#enqueue(chunk.subarray(i, i + slice), f);
  }

  #enqueue(piece: Buffer, f: ChaosFaults): void {
    const delay = (f.latencyMs ?? 0) + (f.jitterMs ? this.#random.int(0, f.jitterMs) : 0);
    this.#tail = this.#tail.then(async () => {
      let wait = delay;
      if (f.bytesPerSec !== undefined && f.bytesPerSec > 0) {
        const now = Date.now();
        this.#budgetAt = Math.max(this.#budgetAt, now) + (piece.length / f.bytesPerSec) * 1000;
        wait = Math.max(wait, this.#budgetAt - now);
      }
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.#to.destroyed) return;
      if (f.resetAfterBytes !== undefined && this.#sent + piece.length >= f.resetAfterBytes) {
        // The piece that reaches the bound is not forwarded: Node 20 turns a reset right after
        // a write into a plain FIN, and a real reset loses bytes in flight anyway.
        this.#kill(true);
        return;
      }
      if (f.closeAfterBytes !== undefined && this.#sent + piece.length >= f.closeAfterBytes) {
        this.#to.write(piece.subarray(0, Math.max(0, f.closeAfterBytes - this.#sent)));
        this.#sent = f.closeAfterBytes;
        this.#kill(false);
        return;
      }
      this.#sent += piece.length;
      if (f.sliceBytes === undefined) this.#to.write(piece);
      // Slices leave one by one: each waits for the previous write and an event-loop turn, so
      // the stack does not coalesce them again.
      else await new Promise<void>((r) => this.#to.write(piece, () => setImmediate(r)));
    });
  }
}

/**
 * Starts a TCP proxy on 127.0.0.1 (port 0) that injects seeded faults between a client and
 * `target`. Since `tc netem` is not available in CI, this is how tests get latency, slow links,
 * torn reads (1-byte slices), resets, blackholes and mid-stream closes. Deterministic given the
 * seed and the byte stream, except for real-time scheduling.
 */
export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const random = new SeededRandom(options.seed);
  let faults = { upstream: options.upstream ?? {}, downstream: options.downstream ?? {} };
  const open = new Set<Socket>();
  let accepted = 0;
  // Held so the pipes' lifetime is explicit; each is dropped with its sockets on close.
  const pipes = new Set<Pipe>();
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = createConnection(options.target);
    open.add(client);
    open.add(upstream);
    const kill = (reset: boolean): void => {
      for (const s of [client, upstream]) {
        if (reset) s.resetAndDestroy();
        else s.end(() => s.destroy());
      }
    };
    for (const s of [client, upstream]) {
      s.on('error', () => kill(true));
      s.on('close', () => {
        open.delete(s);
        if (!client.destroyed && s === upstream) client.destroy();
        if (!upstream.destroyed && s === client) upstream.destroy();
      });
    }
    pipes.add(new Pipe(client, upstream, () => faults.upstream, random, kill));
    pipes.add(new Pipe(upstream, client, () => faults.downstream, random, kill));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    seed: options.seed,
    get accepted() {
      return accepted;
    },
    setFaults(next) {
      faults = { upstream: next.upstream ?? {}, downstream: next.downstream ?? {} };
    },
    resetAll() {
      for (const s of open) s.resetAndDestroy();
    },
    describe() {
      return `chaos proxy seed=${options.seed} upstream=${JSON.stringify(faults.upstream)} downstream=${JSON.stringify(faults.downstream)}`;
    },
    close() {
      for (const s of open) s.destroy();
      pipes.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Fault kinds a seeded schedule draws from. */
export const chaosFaultKinds = ['clean', 'latency', 'jitter', 'slow', 'slice', 'blackhole', 'close', 'reset'] as const;

/** One step of a schedule: apply `faults` for `durationMs`. */
export interface ChaosStep {
  readonly kind: (typeof chaosFaultKinds)[number];
  readonly durationMs: number;
  readonly upstream: ChaosFaults;
  readonly downstream: ChaosFaults;
}

/**
 * A reproducible schedule of `steps` fault periods drawn from `seed`: the same seed gives the
 * same schedule, so a failing run is replayed from the seed in its report.
 */
export function seededChaosSchedule(seed: number, steps: number, maxStepMs = 500): ChaosStep[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: steps }, (): ChaosStep => {
    const kind = random.pick(chaosFaultKinds);
    const durationMs = random.int(50, maxStepMs);
    const both = (f: ChaosFaults) => ({ kind, durationMs, upstream: f, downstream: f });
    switch (kind) {
      case 'latency':
        return both({ latencyMs: random.int(5, 100) });
      case 'jitter':
        return both({ latencyMs: random.int(1, 20), jitterMs: random.int(5, 80) });
      case 'slow':
        return both({ bytesPerSec: random.int(2_000, 50_000) });
      case 'slice':
        return both({ sliceBytes: random.int(1, 3) });
      case 'blackhole':
        return { kind, durationMs, upstream: {}, downstream: { blackhole: true } };
      case 'close':
        return { kind, durationMs, upstream: {}, downstream: { closeAfterBytes: random.int(1, 4096) } };
      case 'reset':
        return { kind, durationMs, upstream: {}, downstream: { resetAfterBytes: random.int(1, 4096) } };
      default:
        return both({});
    }
  });
}

/** Applies each step of `schedule` to `proxy` in turn; resolves when the last one ends (or `signal` aborts). */
export async function runChaosSchedule(
  proxy: ChaosProxy,
  schedule: readonly ChaosStep[],
  signal?: AbortSignal,
): Promise<void> {
  for (const step of schedule) {
    if (signal?.aborted) break;
    proxy.setFaults({ upstream: step.upstream, downstream: step.downstream });
    await new Promise((r) => setTimeout(r, step.durationMs));
  }
  proxy.setFaults({});
}
