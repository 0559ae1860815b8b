import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signToken } from '@tidings/server';
import { type ChaosProxy, startChaosProxy } from '../chaos/chaos-proxy.js';
import { SeededRandom } from '../chaos/seeded-random.js';
import { createLedger } from '../ledger.js';
import { formatLedgerReport, type LedgerReport } from '../ledger-report.js';
import { Balancer } from './balancer.js';
import { grpcSubscriber } from './grpc-subscriber.js';
import { mqttSubscriber } from './mqtt-subscriber.js';
import { type PublishersOutcome, startPublishers } from './publishers.js';
import { pollSubscriber, streamSubscriber } from './stream-adapters.js';
import {
  type NemesisSubscriber,
  type NemesisTransport,
  nemesisTransports,
  type SubscriberContext,
  sdkSubscriber,
} from './subscriber.js';
import { Supervisor } from './supervisor.js';

/** The engines a run can target; `redis-aof` is Redis with the append-only file fsynced on every write. */
export const nemesisEngines = ['memory', 'redis', 'redis-aof', 'nats'] as const;
export type NemesisEngine = (typeof nemesisEngines)[number];

/** The faults of a run; each is applied, held for a seeded while, then healed before the next. */
export const nemesisFaults = [
  'kill-node',
  'pause-node',
  'restart-broker',
  'partition-broker',
  'flap-clients',
  'slow-consumers',
] as const;
export type NemesisFault = (typeof nemesisFaults)[number];

/** Options of `runNemesis`. */
export interface NemesisOptions {
  readonly engine: NemesisEngine;
  readonly seed: number;
  /** How long faults are applied while publishers run. */
  readonly durationMs: number;
  /** Path of apps/tidings/bin/tidings.js. */
  readonly tidingsBin: string;
  /** redis-server and nats-server binaries; default from PATH. */
  readonly redisServer?: string;
  readonly natsServer?: string;
  /** Nodes behind the balancer; default 1 on memory, 2 otherwise. */
  readonly nodes?: number;
  readonly subscribers?: number;
  /** Transports the subscribers are spread over, round-robin; default all of `nemesisTransports`. */
  readonly transports?: readonly NemesisTransport[];
  readonly publishers?: number;
  readonly channels?: number;
  readonly publishIntervalMs?: number;
  /** How long subscribers get to catch up after the last fault; default 30 s. */
  readonly settleMs?: number;
  /** Folder for the report files; none written when absent. */
  readonly reportDir?: string;
  /** Progress lines (faults as they happen, a status line every few seconds). */
  readonly log?: (line: string) => void;
}

/** The outcome of a run, also written as `nemesis-<engine>-<seed>.json` in `reportDir`. */
export interface NemesisReport {
  readonly engine: NemesisEngine;
  readonly seed: number;
  readonly durationMs: number;
  readonly nodes: number;
  readonly subscribers: Readonly<Record<NemesisTransport, number>>;
  /** `+<ms> <what>` for every action, in order. */
  readonly timeline: readonly string[];
  readonly faults: Readonly<Record<NemesisFault, number>>;
  readonly publishers: PublishersOutcome;
  readonly ledger: Omit<LedgerReport, 'perSubscriber'>;
  readonly discontinuities: number;
  /** Every subscriber ended with nothing lost (it caught up within `settleMs`). */
  readonly caughtUp: boolean;
  /** lost = duplicated = reordered = silent gaps = offset forks = 0, and no unexpected answer. */
  readonly ok: boolean;
  readonly reportFile?: string;
}

const secret = 'nemesis-secret-0123456789abcdef0123';
const apiKey = 'nemesis-api-key-0123456789abcdef';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One step of a plan: wait, then apply `fault` for `holdMs`, then heal it. */
export interface NemesisStep {
  readonly waitMs: number;
  readonly fault: NemesisFault;
  readonly holdMs: number;
}

/**
 * The seeded fault plan of a run: steps until their waits and holds fill `durationMs`. A pure
 * function of its arguments, so a report's seed replays the same faults in the same order.
 */
export function planNemesis(engine: NemesisEngine, seed: number, durationMs: number): NemesisStep[] {
  const random = new SeededRandom(seed);
  const steps: NemesisStep[] = [];
  for (let at = 0; at < durationMs; ) {
    const step = {
      waitMs: random.int(1000, 3000),
      fault: random.pick(faultsFor(engine)),
      holdMs: random.int(300, 2500),
    };
    steps.push(step);
    at += step.waitMs + step.holdMs;
  }
  return steps;
}

function faultsFor(engine: NemesisEngine): NemesisFault[] {
  if (engine === 'memory') return ['kill-node', 'pause-node', 'flap-clients', 'slow-consumers'];
  return [...nemesisFaults];
}

/**
 * One seeded nemesis run: private broker and nodes under a supervisor, a balancer in front,
 * subscribers spread over every transport and channel, publishers with idempotent retries, and
 * a seeded sequence of faults; then every fault is healed, subscribers catch up, and the ledger
 * checks what they saw. The same seed picks the same faults, targets and hold times.
 */
export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  // Targets (which node, which subscribers) come from their own stream, so the fault plan depends
  // on the seed, engine and duration only.
  const random = new SeededRandom(options.seed ^ 0x5eed);
  const start = Date.now();
  const timeline: string[] = [];
  const log = (line: string) => {
    const entry = `+${String(Date.now() - start).padStart(6)} ms ${line}`;
    timeline.push(entry);
    options.log?.(entry);
  };
  const supervisor = new Supervisor({
    tidingsBin: options.tidingsBin,
    log,
    ...(options.redisServer === undefined ? {} : { redisServer: options.redisServer }),
    ...(options.natsServer === undefined ? {} : { natsServer: options.natsServer }),
  });
  const nodeCount = options.nodes ?? (options.engine === 'memory' ? 1 : 2);
  const transports = options.transports ?? nemesisTransports;
  const channels = Array.from({ length: options.channels ?? 4 }, (_, i) => `feed:n${options.seed}-${i}`);
  const subscribers: NemesisSubscriber[] = [];
  let proxy: ChaosProxy | undefined;
  let balancer: Balancer | undefined;
  let publishers: ReturnType<typeof startPublishers> | undefined;
  const faults = Object.fromEntries(nemesisFaults.map((f) => [f, 0])) as Record<NemesisFault, number>;
  const ledger = createLedger();
  try {
    const engine = await startEngine(options.engine, supervisor, options.seed, (p) => {
      proxy = p;
    });
    const nodes: string[] = [];
    for (let i = 0; i < nodeCount; i++) {
      const name = `node${i + 1}`;
      await supervisor.startNode(name, nodeConfig(engine));
      nodes.push(name);
    }
    balancer = new Balancer(() =>
      supervisor
        .list()
        .filter((p) => p.kind === 'node' && p.state === 'running')
        .map((p) => p.port),
    );
    const base = await balancer.listen();
    const count = options.subscribers ?? 200;
    for (let i = 0; i < count; i++) {
      const transport = transports[i % transports.length] as NemesisTransport;
      const channel = channels[i % channels.length] as string;
      const id = `${transport}-${i}`;
      const ctx: SubscriberContext = {
        id,
        channel,
        ledger,
        base: () => base,
        token: () => signToken({ sub: id }, { alg: 'HS256', secret }, { expiresInSec: 3600 }),
        reconnectDelayMs: 100,
        apiKey,
      };
      subscribers.push(adapter(transport, ctx));
    }
    log(`${count} subscribers on ${channels.length} channels over ${transports.join(', ')}`);
    await sleep(3000);
    publishers = startPublishers({
      count: options.publishers ?? 4,
      channels,
      base: () => base,
      apiKey,
      ledger,
      random: new SeededRandom(options.seed + 1),
      intervalMs: options.publishIntervalMs ?? 40,
      maxAttempts: 30,
    });

    const status = setInterval(() => {
      const o = publishers?.outcome;
      if (o !== undefined) log(`status: ${o.acked} acked, ${o.retries} retries, ${o.givenUp} given up`);
    }, 5000);
    try {
      for (const step of planNemesis(options.engine, options.seed, options.durationMs)) {
        await sleep(step.waitMs);
        faults[step.fault]++;
        await applyFault(step, { supervisor, random, nodes, subscribers, proxy, log });
      }
    } finally {
      clearInterval(status);
    }
    const outcome = await publishers.stop();
    publishers = undefined;
    log(`publishers stopped: ${outcome.acked} acked of ${outcome.attempted}`);

    const settleDeadline = Date.now() + (options.settleMs ?? 30_000);
    let report = ledger.check();
    while (report.lost > 0 && Date.now() < settleDeadline) {
      await sleep(1000);
      report = ledger.check();
    }
    const caughtUp = report.lost === 0;
    log(caughtUp ? 'every subscriber caught up' : `not caught up after settle: ${report.lost} lost`);
    const { perSubscriber, ...summary } = report;
    const discontinuities = Object.values(perSubscriber).reduce((n, s) => n + s.discontinuities, 0);
    const byTransport = Object.fromEntries(
      transports.map((t) => [t, subscribers.filter((s) => s.transport === t).length]),
    ) as Record<NemesisTransport, number>;
    const ok = report.ok && caughtUp && outcome.unexpected.length === 0 && outcome.acked > 0;
    let result: NemesisReport = {
      engine: options.engine,
      seed: options.seed,
      durationMs: options.durationMs,
      nodes: nodeCount,
      subscribers: byTransport,
      timeline,
      faults,
      publishers: outcome,
      ledger: summary,
      discontinuities,
      caughtUp,
      ok,
    };
    if (options.reportDir !== undefined) {
      mkdirSync(options.reportDir, { recursive: true });
      const reportFile = join(options.reportDir, `nemesis-${options.engine}-${options.seed}.json`);
      result = { ...result, reportFile };
      writeFileSync(reportFile, `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(
        reportFile.replace(/\.json$/, '.txt'),
        `${formatNemesisReport(result)}\n${formatLedgerReport(report)}\n`,
      );
    }
    return result;
  } finally {
    await publishers?.stop();
    await Promise.all(subscribers.map((s) => s.close()));
    await balancer?.close();
    await proxy?.close();
    await supervisor.stopAll();
  }
}

/** A few readable lines: engine, seed, faults, publications and the ledger's verdict. */
export function formatNemesisReport(r: NemesisReport): string {
  const faults = Object.entries(r.faults)
    .filter(([, n]) => n > 0)
    .map(([f, n]) => `${f} ×${n}`)
    .join(', ');
  const l = r.ledger;
  return [
    `nemesis ${r.engine} seed ${r.seed}: ${r.ok ? 'OK' : 'FAILED'} (${r.nodes} node(s), ${Object.values(r.subscribers).reduce((a, b) => a + b, 0)} subscribers)`,
    `  faults: ${faults || 'none'}`,
    `  publications: ${r.publishers.acked} acked, ${r.publishers.retries} retries, ${r.publishers.givenUp} given up, ${r.publishers.unexpected.length} unexpected answers`,
    `  ledger: lost ${l.lost}, duplicated ${l.duplicated}, reordered ${l.reordered}, silent gaps ${l.silentGaps}, offset forks ${l.offsetForks}; excused ${l.excused} behind ${r.discontinuities} explicit discontinuities`,
    ...(r.reportFile === undefined ? [] : [`  report: ${r.reportFile}`]),
  ].join('\n');
}

function adapter(transport: NemesisTransport, ctx: SubscriberContext): NemesisSubscriber {
  switch (transport) {
    case 'ws-json':
      return sdkSubscriber('json', ctx);
    case 'ws-protobuf':
      return sdkSubscriber('protobuf', ctx);
    case 'sse':
    case 'ndjson':
      return streamSubscriber(transport, ctx);
    case 'poll':
      return pollSubscriber(ctx);
    case 'grpc':
      return grpcSubscriber(ctx);
    case 'mqtt':
      return mqttSubscriber(ctx);
  }
}

type EngineSection = Record<string, unknown>;

async function startEngine(
  engine: NemesisEngine,
  supervisor: Supervisor,
  seed: number,
  onProxy: (p: ChaosProxy) => void,
): Promise<EngineSection> {
  if (engine === 'memory') return { type: 'memory' };
  const broker =
    engine === 'nats'
      ? await supervisor.startNats('broker')
      : await supervisor.startRedis('broker', { aof: engine === 'redis-aof' });
  // Nodes reach the broker through a chaos proxy so that a partition can be cut and healed.
  const proxy = await startChaosProxy({ target: { host: '127.0.0.1', port: broker.port }, seed });
  onProxy(proxy);
  const at = `127.0.0.1:${proxy.port}`;
  if (engine === 'nats') {
    return {
      type: 'nats',
      servers: [at],
      streamName: `TIDINGS_NEMESIS_${seed}`,
      subjectPrefix: `tidings-nemesis.${seed}`,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 1000,
    };
  }
  return {
    type: 'redis',
    url: `redis://${at}`,
    prefix: `nemesis:${seed}:`,
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  };
}

function nodeConfig(engine: EngineSection): Record<string, unknown> {
  return {
    http: { host: '127.0.0.1', port: 0 },
    engine,
    auth: { keys: [{ alg: 'HS256', secret }] },
    api: { keys: [apiKey] },
    // MQTT 5 subscribers over WebSocket (/mqtt, through the balancer) read positions from user properties.
    mqtt: { enabled: true, port: 0, positionProperties: true },
    channels: {
      namespaces: {
        feed: { historySize: 50_000, historyTtlMs: 600_000, allowRecovery: true, allowSubscribeForClient: true },
      },
    },
    log: { level: 'warn' },
  };
}

interface FaultContext {
  readonly supervisor: Supervisor;
  readonly random: SeededRandom;
  readonly nodes: readonly string[];
  readonly subscribers: readonly NemesisSubscriber[];
  readonly proxy: ChaosProxy | undefined;
  readonly log: (line: string) => void;
}

async function applyFault(step: NemesisStep, c: FaultContext): Promise<void> {
  const hold = step.holdMs;
  switch (step.fault) {
    case 'kill-node': {
      const node = c.random.pick(c.nodes);
      await c.supervisor.kill(node);
      await sleep(hold);
      await c.supervisor.restart(node);
      return;
    }
    case 'pause-node': {
      const node = c.random.pick(c.nodes);
      c.supervisor.pause(node);
      await sleep(hold);
      c.supervisor.resume(node);
      return;
    }
    case 'restart-broker':
      await c.supervisor.kill('broker');
      await sleep(hold);
      await c.supervisor.restart('broker');
      return;
    case 'partition-broker':
      if (c.proxy === undefined) return;
      c.log(`partition nodes | broker for ${hold} ms`);
      c.proxy.setFaults({ upstream: { blackhole: true }, downstream: { blackhole: true } });
      await sleep(hold);
      // Bytes dropped by the blackhole cannot be replayed, so the links are reset at the heal, as
      // TCP gives up on a long partition; the nodes reconnect.
      c.proxy.resetAll();
      c.proxy.setFaults({ upstream: {}, downstream: {} });
      c.log('partition healed');
      return;
    case 'flap-clients': {
      const picked = c.subscribers.filter(() => c.random.next() < 0.1);
      for (const s of picked) s.flap();
      c.log(`flapped ${picked.length} subscribers`);
      await sleep(hold);
      return;
    }
    case 'slow-consumers': {
      const picked = c.subscribers.filter((s) => s.transport !== 'ws-json' && s.transport !== 'ws-protobuf');
      const slow = picked.filter(() => c.random.next() < 0.1);
      for (const s of slow) s.stall(hold * 2);
      c.log(`stalled ${slow.length} subscribers for ${hold * 2} ms`);
      await sleep(hold);
      return;
    }
  }
}
