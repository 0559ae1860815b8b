import { writeFileSync } from 'node:fs';
import type { CodecName } from '@tidings/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { benchChartSvg } from './chart.js';
import { type TransportName, transportNames } from './clients/index.js';
import { assertReachable, assertSomeoneConnected } from './reachability.js';
import { formatResult, progressPrinter } from './report.js';
import { runBench } from './run-bench.js';
import { benchScenarios, scenarioChannels } from './scenarios.js';
import type { BenchOptions, BenchScenario } from './types.js';

/** The process surface `tidings bench` writes to (a subset of the CLI's). */
export interface BenchIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

function wholeNumber(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    return Number(value);
  };
}

interface Flags {
  url: string;
  alsoUrl: string[];
  transport: TransportName;
  token?: string;
  apiKey?: string;
  apiUrl?: string;
  subscribers: number;
  channels?: number;
  scenario: BenchScenario;
  svg?: string;
  channelPrefix: string;
  rate?: number;
  batch: number;
  batchParallel?: boolean;
  duration: number;
  warmup: number;
  codec: CodecName;
  workers: number;
  payloadBytes: number;
  publishConcurrency: number;
  connectConcurrency: number;
  socketsPerAddress: number;
  serverPid?: number;
  out?: string;
  progress?: boolean;
}

/** The API base URL of a subscriber URL: same host and port, http(s). */
function apiUrlOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'}//${u.host}`;
}

/** Where the chart goes: `--svg`, else beside `--out` (`x.json` → `x.svg`), else nowhere. */
export function svgPathOf(out: string | undefined, svg: string | undefined): string | undefined {
  if (svg !== undefined || out === undefined) return svg;
  return out.endsWith('.json') ? `${out.slice(0, -'.json'.length)}.svg` : `${out}.svg`;
}

/** Adds `bench` to the `tidings` command tree. */
export function registerBenchCommand(program: Command, io: BenchIo): void {
  program
    .command('bench')
    .description('load generator: N subscribers on one --transport, publishes over HTTP, end-to-end latency')
    .option('--url <url>', 'subscriber endpoint of --transport', 'ws://127.0.0.1:8000/connection/websocket')
    .option(
      '--also-url <url>',
      "another node's subscriber endpoint (repeatable): worker i uses the i-th of --url and these, round-robin",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option('--transport <name>', 'client transport (and publish shape)')
        .choices(transportNames)
        .default('centrifuge-ws'),
    )
    .option('--token <jwt>', 'connection token for every subscriber (omit for anonymous)')
    .option('--api-key <key>', 'server API key (X-API-Key)')
    .option('--api-url <url>', 'server API base URL (default: derived from --url)')
    .option('-n, --subscribers <n>', 'subscribers', wholeNumber(1), 1000)
    .addOption(
      new Option(
        '--scenario <name>',
        'fanout: 1 channel × N; many-channels: N over --channels; connect-storm: connect only; idle: hold --duration s, RSS per connection; publish-api: autocannon on the HTTP publish API (--batch, --publish-concurrency connections)',
      )
        .choices(benchScenarios)
        .default('fanout'),
    )
    .option(
      '--channels <n>',
      'channels; subscriber i joins channel i mod n (default 1, many-channels: N/4)',
      wholeNumber(1),
    )
    .option('--channel-prefix <prefix>', 'channel names are <prefix><i>', 'bench')
    .option(
      '-r, --rate <n>',
      'publications per second over all channels; 0 = saturating (default: 20; publish-api: 0)',
      wholeNumber(0),
    )
    .option(
      '--batch <n>',
      'publish-api: publications per request (1 = /api/publish, more = /api/batch)',
      wholeNumber(1),
      1,
    )
    .option('--batch-parallel', 'publish-api: batches with "parallel": true (commands run concurrently)')
    .option('-d, --duration <s>', 'seconds of publishing (idle: of holding the connections)', wholeNumber(1), 10)
    .option(
      '--warmup <s>',
      'seconds of the same publishing first, drained and not counted (warms the JIT of server and load)',
      wholeNumber(0),
      0,
    )
    .addOption(new Option('--codec <codec>', 'wire codec').choices(['json', 'protobuf', 'msgpack']).default('json'))
    .option('-w, --workers <n>', 'worker processes holding the subscribers', wholeNumber(1), 2)
    .option('--payload-bytes <n>', 'publication data size (timestamp + padding)', wholeNumber(1), 100)
    .option(
      '--publish-concurrency <n>',
      'requests in flight when saturating (publish-api: autocannon connections)',
      wholeNumber(1),
      64,
    )
    .option('--connect-concurrency <n>', 'sockets opening at once per worker', wholeNumber(1), 200)
    .option('--sockets-per-address <n>', 'sockets per 127.0.0.x source address', wholeNumber(1), 15_000)
    .option('--server-pid <pid>', 'read this process CPU and RSS from /proc', wholeNumber(1))
    .option('-o, --out <file>', 'write every figure as JSON (and the chart beside it, .svg)')
    .option('--svg <file>', 'write the SVG chart here (default: beside --out)')
    .option('--no-progress', 'no live progress on stderr')
    .action(async (flags: Flags) => {
      const options: BenchOptions = {
        url: flags.url,
        ...(flags.alsoUrl.length === 0 ? {} : { alsoUrls: flags.alsoUrl }),
        transport: flags.transport,
        ...(flags.token === undefined ? {} : { token: flags.token }),
        ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
        apiUrl: flags.apiUrl ?? apiUrlOf(flags.url),
        scenario: flags.scenario,
        subscribers: flags.subscribers,
        channels: scenarioChannels(flags.scenario, flags.subscribers, flags.channels),
        channelPrefix: flags.channelPrefix,
        rate: flags.rate ?? (flags.scenario === 'publish-api' ? 0 : 20),
        batch: flags.batch,
        ...(flags.batchParallel === true ? { batchParallel: true } : {}),
        duration: flags.duration,
        ...(flags.warmup > 0 ? { warmupSeconds: flags.warmup } : {}),
        codec: flags.codec,
        workers: Math.min(flags.workers, flags.subscribers),
        payloadBytes: flags.payloadBytes,
        publishConcurrency: flags.publishConcurrency,
        connectConcurrency: flags.connectConcurrency,
        socketsPerAddress: flags.socketsPerAddress,
        ...(flags.serverPid === undefined ? {} : { serverPid: flags.serverPid }),
        progress: flags.progress === false ? 'off' : io.stderr.isTTY === true ? 'tty' : 'lines',
      };
      const apiOnly = options.scenario === 'publish-api';
      await assertReachable(apiOnly ? options.apiUrl : options.url, apiOnly ? 'publisher' : 'subscriber');
      const printer = progressPrinter(io.stderr, options.progress);
      const result = await runBench(options, (p) => printer.update(p));
      printer.done();
      io.stdout.write(formatResult(result));
      if (flags.out !== undefined) writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
      const svg = svgPathOf(flags.out, flags.svg);
      if (svg !== undefined) writeFileSync(svg, benchChartSvg(result));
      if (!apiOnly) assertSomeoneConnected(result.connected, options.subscribers, options.url);
    });
}
