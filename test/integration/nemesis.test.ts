// The short seeded nemesis runs of CI (issue 15): for each engine, private broker and nodes under
// the testkit supervisor, 200 subscribers over WebSocket JSON/Protobuf (centrifuge SDK), SSE,
// NDJSON, long-poll, the typed API's gRPC/Connect `Subscribe` stream and MQTT 5 (over WebSocket)
// behind a balancer, 4 publishers with idempotent retries, and a seeded
// sequence of kill -9, SIGSTOP, broker restarts and partitions, client flaps and stalls. The
// ledger must find nothing lost, duplicated, reordered, silently skipped or forked. Long runs:
// `npm run chaos -- --minutes 30 --seed S`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNemesisReport, type NemesisEngine, type NemesisFault, planNemesis, runNemesis } from '@tidings/testkit';
import { describe, expect, it } from 'vitest';
import { requireBuild } from './cluster-harness.js';
import { requireTool } from './system-tools.js';

const tidingsBin = fileURLToPath(new URL('../../apps/tidings/bin/tidings.js', import.meta.url));
const reportDir = mkdtempSync(join(tmpdir(), 'tidings-nemesis-reports-'));

// Fixed seeds, so a failure in CI is replayed with `npm run chaos -- --engine E --seed S --seconds 15`.
// Each seed's 15-s plan includes the engine's process faults (checked below, since the plan is a
// pure function of engine, seed and duration).
const durationMs = 15_000;
const processFaults: NemesisFault[] = ['kill-node', 'pause-node', 'restart-broker', 'partition-broker'];
const runs: Array<{ engine: NemesisEngine; seed: number }> = [
  { engine: 'memory', seed: 1 },
  { engine: 'redis-aof', seed: 19 },
  { engine: 'redis', seed: 29 },
  { engine: 'nats', seed: 44 },
];

describe('seeded nemesis', () => {
  for (const { engine, seed } of runs) {
    it(`${engine}, seed ${seed}: 0 lost, 0 duplicated, 0 reordered, 0 silent gaps, 0 offset forks`, async () => {
      requireBuild();
      const planned = new Set(planNemesis(engine, seed, durationMs).map((s) => s.fault));
      const expected = engine === 'memory' ? ['kill-node', 'pause-node'] : processFaults;
      expect([...planned].filter((f) => expected.includes(f)).sort()).toEqual([...expected].sort());
      const binaries =
        engine === 'memory'
          ? {}
          : engine === 'nats'
            ? { natsServer: requireTool('nats-server', 'nats-server') }
            : { redisServer: requireTool('redis-server', 'redis-server') };
      const report = await runNemesis({
        engine,
        seed,
        durationMs,
        tidingsBin,
        reportDir,
        subscribers: 200,
        ...binaries,
      });
      const text = `${formatNemesisReport(report)}\n${report.timeline.join('\n')}`;
      console.log(formatNemesisReport(report));
      expect(report.publishers.unexpected, text).toEqual([]);
      expect(report.ledger.lost, text).toBe(0);
      expect(report.ledger.duplicated, text).toBe(0);
      expect(report.ledger.reordered, text).toBe(0);
      expect(report.ledger.silentGaps, text).toBe(0);
      expect(report.ledger.offsetForks, text).toBe(0);
      expect(report.caughtUp, text).toBe(true);
      expect(report.ok, text).toBe(true);
      // The run really faulted and really published: a quiet run proves nothing.
      expect(report.publishers.acked, text).toBeGreaterThan(100);
      for (const f of expected) expect(report.faults[f], `${f}\n${text}`).toBeGreaterThan(0);
      // 200 subscribers spread round-robin over the seven transports: 28 or 29 each.
      const perTransport = Object.values(report.subscribers);
      expect(perTransport, text).toHaveLength(7);
      expect(
        perTransport.reduce((a, b) => a + b, 0),
        text,
      ).toBe(200);
      expect(
        perTransport.every((n) => n === 28 || n === 29),
        text,
      ).toBe(true);
      expect(report.reportFile).toContain(`nemesis-${engine}-${seed}.json`);
    }, 180_000);
  }
});
