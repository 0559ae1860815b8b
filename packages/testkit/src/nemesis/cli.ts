#!/usr/bin/env node
// `npm run chaos -- --minutes 30 --seed S [--engine redis]`: a long seeded nemesis run on demand.
// Exit code 0 when every run's ledger is clean, 1 when one is not, 2 on bad arguments.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatNemesisReport, type NemesisEngine, nemesisEngines, runNemesis } from './run-nemesis.js';
import { type NemesisTransport, nemesisTransports } from './subscriber.js';

const usage = `usage: npm run chaos -- [--engine memory|redis|redis-aof|nats|all] [--minutes M | --seconds S]
                      [--seed N] [--nodes N] [--subscribers N] [--publishers N] [--report-dir DIR]
                      [--transports ${nemesisTransports.join(',')}]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got "${value}"`);
  return n;
}

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'all' },
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string' },
    subscribers: { type: 'string' },
    publishers: { type: 'string' },
    transports: { type: 'string' },
    'report-dir': { type: 'string', default: 'nemesis-reports' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const engines: NemesisEngine[] =
  values.engine === 'all'
    ? [...nemesisEngines]
    : nemesisEngines.includes(values.engine as NemesisEngine)
      ? [values.engine as NemesisEngine]
      : fail(`--engine must be one of ${nemesisEngines.join(', ')} or all, got "${values.engine}"`);
const durationMs =
  values.seconds !== undefined
    ? positive('seconds', values.seconds, 60) * 1000
    : positive('minutes', values.minutes, 1) * 60_000;
const transports = values.transports?.split(',').map((t) => {
  if (!nemesisTransports.includes(t as NemesisTransport))
    fail(`--transports: "${t}" is not one of ${nemesisTransports.join(', ')}`);
  return t as NemesisTransport;
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive('seed', values.seed, 1);
const tidingsBin = fileURLToPath(new URL('../../../../apps/tidings/bin/tidings.js', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../../../../apps/tidings/dist/cli.js', import.meta.url)))) {
  fail('apps/tidings is not built: run `npm run build` first');
}

let failed = 0;
for (const engine of engines) {
  process.stdout.write(`\n== nemesis on ${engine}, seed ${seed}, ${durationMs / 1000} s of faults ==\n`);
  const report = await runNemesis({
    engine,
    seed,
    durationMs,
    tidingsBin,
    reportDir: values['report-dir'],
    ...(values.nodes === undefined ? {} : { nodes: positive('nodes', values.nodes, 2) }),
    ...(values.subscribers === undefined ? {} : { subscribers: positive('subscribers', values.subscribers, 200) }),
    ...(values.publishers === undefined ? {} : { publishers: positive('publishers', values.publishers, 4) }),
    ...(transports === undefined ? {} : { transports }),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${formatNemesisReport(report)}\n`);
  if (!report.ok) failed++;
}
process.stdout.write(
  failed === 0 ? `\nall ${engines.length} run(s) clean\n` : `\n${failed} of ${engines.length} run(s) FAILED\n`,
);
process.exit(failed === 0 ? 0 : 1);
