import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { ApiLoad } from './api-load.js';
import { publishStyleOf } from './clients/index.js';
import { drainDeliveries } from './drain.js';
import {
  type FromWorker,
  newLatencyHistogram,
  type WorkerCounters,
  type WorkerPlan,
  type WorkerReady,
} from './messages.js';
import { type ProcSample, sampleProcess } from './proc-stats.js';
import { Publisher, type PublisherStats } from './publisher.js';
import { idleMemory, scenarioChartsConnecting, scenarioPublishes } from './scenarios.js';
import type { BenchOptions, BenchResult, LatencySummary, ServerUsage, TimelinePoint } from './types.js';

/** Live figures, passed to `onProgress` once a second. */
export interface BenchProgress {
  readonly phase: 'connecting' | 'warming' | 'publishing' | 'holding' | 'draining';
  readonly seconds: number;
  readonly connected: number;
  readonly deliveriesPerSec: number;
  readonly p99Us?: number;
  readonly errors: number;
}

interface WorkerState {
  readonly child: ChildProcess;
  counters: WorkerCounters;
  ready?: WorkerReady;
  done: boolean;
  /** Ticks received from this worker (its once-a-second reports). */
  ticks: number;
}

const zeroCounters: WorkerCounters = {
  connected: 0,
  deliveries: 0,
  connectErrors: 0,
  disconnects: 0,
  protocolErrors: 0,
  dropped: 0,
};

function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  // Running from sources (tests, tsx): the worker needs the TypeScript loader too.
  return { file: fileURLToPath(new URL('./worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

function sum(states: readonly WorkerState[], key: keyof WorkerCounters): number {
  return states.reduce((total, s) => total + s.counters[key], 0);
}

function summarize(histogram: hdr.Histogram): LatencySummary {
  const at = (p: number) => (histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(p));
  return {
    count: histogram.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: histogram.totalCount === 0 ? 0 : histogram.maxValue,
    mean: histogram.totalCount === 0 ? 0 : Math.round(histogram.mean),
  };
}

/**
 * CPU over [start, end]; the per-delivery figure runs to `drained` instead, because deliveries
 * that arrive while draining were made with CPU spent after `end`.
 */
function usage(
  pid: number,
  start: ProcSample,
  end: ProcSample,
  peakRss: number,
  deliveries: number,
  drained: ProcSample = end,
): ServerUsage {
  const wallUs = (end.at - start.at) * 1000;
  const user = end.userUs - start.userUs;
  const userToDrained = drained.userUs - start.userUs;
  const systemToDrained = drained.systemUs - start.systemUs;
  const cpu = user + end.systemUs - start.systemUs;
  const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  return {
    pid,
    cpuPercent: Math.round((cpu / wallUs) * 1000) / 10,
    userCpuPercent: Math.round((user / wallUs) * 1000) / 10,
    userCpuUsPerDelivery: deliveries === 0 ? 0 : Math.round((userToDrained / deliveries) * 1000) / 1000,
    systemCpuUsPerDelivery: deliveries === 0 ? 0 : Math.round((systemToDrained / deliveries) * 1000) / 1000,
    rssStartMiB: mib(start.rssBytes),
    rssEndMiB: mib(end.rssBytes),
    rssPeakMiB: mib(Math.max(peakRss, start.rssBytes, end.rssBytes)),
  };
}

/** CPU µs used so far by this process and every worker (read from /proc for the workers). */
function loadCpuUs(states: readonly WorkerState[]): number {
  const own = process.cpuUsage();
  let total = own.user + own.system;
  for (const { child } of states) {
    const sample = child.pid === undefined ? undefined : sampleProcess(child.pid);
    if (sample !== undefined) total += sample.userUs + sample.systemUs;
  }
  return total;
}

/** The drain after publishing (see drainDeliveries); workers report their counts once a second. */
const drainLimits = { idleMs: 2_500, maxMs: 60_000, pollMs: 50 } as const;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Merges the workers' connect-latency histograms; undefined when no worker sent one. */
function connectLatency(readies: readonly WorkerReady[]): LatencySummary | undefined {
  const encoded = readies.flatMap((r) => (r.connectHistogram === undefined ? [] : [r.connectHistogram]));
  if (encoded.length === 0) return undefined;
  const merged = newLatencyHistogram();
  for (const text of encoded) {
    if (text === '') continue;
    const h = hdr.decodeFromCompressedBase64(text);
    merged.add(h);
    h.destroy();
  }
  const summary = summarize(merged);
  merged.destroy();
  return summary;
}

const noPublishing: PublisherStats = { published: 0, errors: 0, perChannel: [] };

/**
 * Runs one scenario: forks `workers` processes holding `subscribers` sockets, waits until every
 * socket subscribed (or failed), then per `scenario` (default `fanout`): publishes for `duration`
 * seconds and waits up to 3 s for the last deliveries (`fanout`, `many-channels`), holds the
 * sockets `duration` seconds without publishing (`idle`), or stops at once (`connect-storm`);
 * closes everything and returns the merged figures. Errors are counted, not thrown; it rejects
 * only when a worker process cannot run.
 */
export async function runBench(options: BenchOptions, onProgress?: (p: BenchProgress) => void): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const scenario = options.scenario ?? 'fanout';
  const publishes = scenarioPublishes(scenario);
  if (scenario === 'publish-api' && publishStyleOf(options.transport ?? 'centrifuge-ws') !== 'api') {
    throw new Error(
      `--scenario publish-api drives Tidings' HTTP API; --transport ${options.transport} has no such API`,
    );
  }
  const runStart = performance.now();
  const serverBefore = options.serverPid === undefined ? undefined : sampleProcess(options.serverPid);
  const loadBefore = loadCpuUs([]);
  const entry = workerEntry();
  const total = newLatencyHistogram();
  let second = newLatencyHistogram();
  const timeline: TimelinePoint[] = [];
  const states: WorkerState[] = [];
  const per = Math.floor(options.subscribers / options.workers);
  const endpoints = [options.url, ...(options.alsoUrls ?? [])];
  let first = 0;
  let ticks = 0;
  let onTickRound: (() => void) | undefined;
  let tickRoundWaiter: (() => void) | undefined;
  /** Resolves after `rounds` more rounds of worker ticks. */
  const tickRounds = async (rounds: number): Promise<void> => {
    for (let i = 0; i < rounds && failure === undefined; i++) {
      await new Promise<void>((resolve) => {
        tickRoundWaiter = resolve;
        setTimeout(resolve, 3_000).unref();
      });
    }
    tickRoundWaiter = undefined;
  };
  let onAllReady: (() => void) | undefined;
  let onAllDone: (() => void) | undefined;
  let failure: Error | undefined;

  for (let index = 0; index < options.workers; index++) {
    const count = index === options.workers - 1 ? options.subscribers - first : per;
    const child = fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const state: WorkerState = { child, counters: zeroCounters, done: false, ticks: 0 };
    states.push(state);
    child.on('message', (message: FromWorker) => {
      if (message.type === 'tick') {
        const { type: _type, histogram, ...counters } = message;
        state.counters = counters;
        state.ticks++;
        if (histogram !== '') {
          const h = hdr.decodeFromCompressedBase64(histogram);
          total.add(h);
          second.add(h);
          h.destroy();
        }
        if (++ticks % options.workers === 0) onTickRound?.();
      } else if (message.type === 'ready') {
        state.ready = message;
        state.counters = message;
        if (states.every((s) => s.ready !== undefined)) onAllReady?.();
      } else {
        state.done = true;
        if (states.every((s) => s.done)) onAllDone?.();
      }
    });
    child.on('exit', (code) => {
      if (!state.done) {
        failure ??= new Error(`bench worker ${index} exited with ${code} before it finished`);
        state.done = true;
        onAllReady?.();
        if (states.every((s) => s.done)) onAllDone?.();
      }
    });
    const plan: WorkerPlan = {
      type: 'plan',
      index,
      transport: options.transport ?? 'centrifuge-ws',
      url: endpoints[index % endpoints.length] ?? options.url,
      ...(options.token === undefined ? {} : { token: options.token }),
      codec: options.codec,
      first,
      count,
      channels: options.channels,
      channelPrefix: options.channelPrefix,
      connectConcurrency: options.connectConcurrency,
      socketsPerAddress: options.socketsPerAddress,
      workers: options.workers,
    };
    child.send(plan);
    first += count;
  }

  // Expected deliveries: each channel's publications times its subscribers.
  const subscribersOf = (channel: number) =>
    Math.floor(options.subscribers / options.channels) + (channel < options.subscribers % options.channels ? 1 : 0);
  /** The fewest reports any worker has sent: a heartbeat every worker has passed. */
  const heartbeats = (): number => Math.min(...states.map((state) => state.ticks));
  const expectedOf = (stats: PublisherStats) =>
    stats.perChannel.reduce((acc, n, channel) => acc + n * subscribersOf(channel), 0);

  const clock = {
    phase: 'connecting' as BenchProgress['phase'],
    zero: performance.now(),
    lastDeliveries: 0,
    last: performance.now(),
  };
  let peakRss = 0;
  if (scenarioChartsConnecting(scenario)) timeline.push({ t: 0, connected: 0, deliveriesPerSec: 0 });
  // One timeline point per round of worker ticks (each worker ticks once a second).
  onTickRound = () => {
    const now = performance.now();
    const deliveries = sum(states, 'deliveries');
    const rate = ((deliveries - clock.lastDeliveries) / (now - clock.last)) * 1000;
    clock.lastDeliveries = deliveries;
    clock.last = now;
    const point: TimelinePoint = {
      t: Math.round((now - clock.zero) / 100) / 10,
      connected: sum(states, 'connected'),
      deliveriesPerSec: Math.round(rate),
      ...(second.totalCount === 0 ? {} : { p99: second.getValueAtPercentile(99) }),
    };
    second.destroy();
    second = newLatencyHistogram();
    const rss = options.serverPid === undefined ? undefined : sampleProcess(options.serverPid)?.rssBytes;
    if (rss !== undefined) peakRss = Math.max(peakRss, rss);
    tickRoundWaiter?.();
    if (clock.phase === 'warming') {
      // Nothing of the warm-up is charted or counted.
    } else if (clock.phase !== 'connecting' || scenarioChartsConnecting(scenario)) {
      timeline.push(rss === undefined ? point : { ...point, serverRssMiB: Math.round((rss / 1048576) * 10) / 10 });
    }
    onProgress?.({
      phase: clock.phase,
      seconds: point.t,
      connected: point.connected,
      deliveriesPerSec: point.deliveriesPerSec,
      ...(point.p99 === undefined ? {} : { p99Us: point.p99 }),
      errors:
        sum(states, 'connectErrors') +
        sum(states, 'disconnects') +
        sum(states, 'protocolErrors') +
        sum(states, 'dropped'),
    });
  };

  await new Promise<void>((resolve) => {
    onAllReady = resolve;
    if (options.workers === 0) resolve();
  });
  if (failure !== undefined) {
    for (const state of states) state.child.kill();
    throw failure;
  }
  const readies = states.flatMap((s) => (s.ready === undefined ? [] : [s.ready]));
  const firstOpenAt = Math.min(...readies.map((r) => r.firstOpenAt));
  const lastReadyAt = Math.max(...readies.map((r) => r.lastReadyAt));
  const connectSeconds = Math.max(0.001, (lastReadyAt - firstOpenAt) / 1000);
  const connected = sum(states, 'connected');
  const connectSummary = connectLatency(readies);
  // The instant the last socket subscribed ends the connect curve, between two ticks.
  if (scenarioChartsConnecting(scenario)) {
    timeline.push({ t: Math.round((performance.now() - clock.zero) / 100) / 10, connected, deliveriesPerSec: 0 });
  }

  const batch = options.batch ?? 1;
  const newApiLoad = () =>
    scenario === 'publish-api'
      ? new ApiLoad({ ...options, batch, connections: options.publishConcurrency })
      : undefined;
  const newPublisher = () =>
    publishes && scenario !== 'publish-api'
      ? new Publisher({
          ...options,
          publishStyle: publishStyleOf(options.transport ?? 'centrifuge-ws'),
          concurrency: options.publishConcurrency,
        })
      : undefined;

  // Warm-up: the same publishing for `warmupSeconds`, then drained and forgotten, so the figures
  // are of warm code (a fresh server's and the load generator's first seconds run unoptimized).
  const warmupSeconds = publishes ? (options.warmupSeconds ?? 0) : 0;
  if (warmupSeconds > 0 && failure === undefined) {
    clock.phase = 'warming';
    const warmBefore = sum(states, 'deliveries');
    const warmApi = newApiLoad();
    const warmPublisher = newPublisher();
    warmPublisher?.start();
    await warmApi?.start();
    await delay(warmupSeconds * 1000);
    const warm = (await warmApi?.stop()) ?? (await warmPublisher?.stop()) ?? noPublishing;
    const warmExpected = expectedOf(warm);
    await drainDeliveries(
      () => sum(states, 'deliveries') - warmBefore,
      warmExpected,
      () => failure !== undefined,
      drainLimits,
      heartbeats,
    );
    // Two tick rounds: every warm-up latency has reached `total` before it is cleared.
    await tickRounds(2);
    total.reset();
    second.reset();
  }

  const apiLoad = newApiLoad();
  const publisher = newPublisher();
  const serverConnected = options.serverPid === undefined ? undefined : sampleProcess(options.serverPid);
  // connect-storm measures the connecting itself, the others what follows it.
  const storm = scenario === 'connect-storm';
  const serverStart = storm ? serverBefore : serverConnected;
  const loadStart = storm ? loadBefore : loadCpuUs(states);
  const windowStart = storm ? runStart : performance.now();
  const deliveredBefore = sum(states, 'deliveries');
  clock.phase = publishes ? 'publishing' : 'holding';
  if (publishes) clock.zero = performance.now();
  publisher?.start();
  await apiLoad?.start();
  if (failure === undefined && !storm) await delay(options.duration * 1000);
  const apiStats = await apiLoad?.stop();
  const stats = apiStats ?? (publisher === undefined ? noPublishing : await publisher.stop());
  const windowSeconds = Math.max(0.001, (performance.now() - windowStart) / 1000);
  const publishSeconds = publishes ? windowSeconds : 0;
  const serverEnd = options.serverPid === undefined ? undefined : sampleProcess(options.serverPid);
  const loadCpuPercent = Math.round(((loadCpuUs(states) - loadStart) / (windowSeconds * 1e6)) * 1000) / 10;

  const expected = expectedOf(stats);
  clock.phase = 'draining';
  await drainDeliveries(
    () => sum(states, 'deliveries') - deliveredBefore,
    expected,
    () => failure !== undefined,
    drainLimits,
    heartbeats,
  );

  const serverDrained = options.serverPid === undefined ? undefined : sampleProcess(options.serverPid);
  const allDone = new Promise<void>((resolve) => (onAllDone = resolve));
  for (const state of states) if (!state.done) state.child.send({ type: 'stop' });
  await allDone;
  if (failure !== undefined) throw failure;
  // Until every worker stopped: a worker still reading a backlog handles `stop` only after it, so
  // its late deliveries are counted in the time they really took, not in the publishing window.
  const deliverySeconds = Math.max(windowSeconds, (performance.now() - windowStart) / 1000);

  const deliveries = sum(states, 'deliveries') - deliveredBefore;
  const errors = {
    connect: sum(states, 'connectErrors'),
    disconnects: sum(states, 'disconnects'),
    publish: stats.errors,
    protocol: sum(states, 'protocolErrors'),
    dropped: sum(states, 'dropped'),
  };
  const { token: _token, apiKey: _apiKey, progress: _progress, ...shown } = options;
  const result: BenchResult = {
    options: { ...shown, scenario },
    startedAt,
    connected,
    connectPerSec: Math.round(connected / connectSeconds),
    connectSeconds: Math.round(connectSeconds * 1000) / 1000,
    ...(connectSummary === undefined ? {} : { connectLatencyUs: connectSummary }),
    published: stats.published,
    publishesPerSec: publishes ? Math.round(stats.published / publishSeconds) : 0,
    publishSeconds: Math.round(publishSeconds * 1000) / 1000,
    loadCpuPercent,
    expectedDeliveries: expected,
    deliveries,
    deliveriesPerSec: publishes ? Math.round(deliveries / deliverySeconds) : 0,
    deliverySeconds: publishes ? Math.round(deliverySeconds * 1000) / 1000 : 0,
    latencyUs: summarize(total),
    ...(apiStats === undefined
      ? {}
      : {
          publishApi: {
            path: batch > 1 ? '/api/batch' : '/api/publish',
            batch,
            parallel: batch > 1 && options.batchParallel === true,
            connections: options.publishConcurrency,
            requests: apiStats.requests,
            requestsPerSec: Math.round(apiStats.requests / publishSeconds),
            requestLatencyUs: apiStats.requestLatencyUs,
          },
        }),
    errors: {
      ...errors,
      total: errors.connect + errors.disconnects + errors.publish + errors.protocol + errors.dropped,
    },
    ...(serverStart === undefined || serverEnd === undefined || options.serverPid === undefined
      ? {}
      : {
          server: {
            ...usage(options.serverPid, serverStart, serverEnd, peakRss, deliveries, serverDrained ?? serverEnd),
            ...(storm && connected > 0
              ? { userCpuUsPerConnect: Math.round(((serverEnd.userUs - serverStart.userUs) / connected) * 10) / 10 }
              : {}),
          },
        }),
    ...(scenario !== 'idle' || serverBefore === undefined || serverConnected === undefined || serverEnd === undefined
      ? {}
      : { idle: idleMemory(serverBefore, serverConnected, serverEnd, connected, windowSeconds) }),
    timeline,
  };
  total.destroy();
  second.destroy();
  return result;
}
