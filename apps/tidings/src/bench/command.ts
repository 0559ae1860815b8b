import { writeFileSync } from 'node:fs';
import type { CodecName } from '@tidings/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatResult, progressPrinter } from './report.js';
import { runBench } from './run-bench.js';
import type { BenchOptions } from './types.js';

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
  token?: string;
  apiKey?: string;
  apiUrl?: string;
  subscribers: number;
  channels: number;
  channelPrefix: string;
  rate: number;
  duration: number;
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

/** The API base URL of a WebSocket URL: same host and port, http(s). */
function apiUrlOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

/** Adds `bench` to the `tidings` command tree. */
export function registerBenchCommand(program: Command, io: BenchIo): void {
  program
    .command('bench')
    .description('load generator: N WebSocket subscribers, publishes through the HTTP API, end-to-end latency')
    .option('--url <url>', 'WebSocket endpoint', 'ws://127.0.0.1:8000/connection/websocket')
    .option('--token <jwt>', 'connection token for every subscriber (omit for anonymous)')
    .option('--api-key <key>', 'server API key (X-API-Key)')
    .option('--api-url <url>', 'server API base URL (default: derived from --url)')
    .option('-n, --subscribers <n>', 'subscribers', wholeNumber(1), 1000)
    .option('--channels <n>', 'channels; subscriber i joins channel i mod n', wholeNumber(1), 1)
    .option('--channel-prefix <prefix>', 'channel names are <prefix><i>', 'bench')
    .option('-r, --rate <n>', 'publications per second over all channels; 0 = saturating', wholeNumber(0), 20)
    .option('-d, --duration <s>', 'seconds of publishing', wholeNumber(1), 10)
    .addOption(new Option('--codec <codec>', 'wire codec').choices(['json', 'protobuf', 'msgpack']).default('json'))
    .option('-w, --workers <n>', 'worker processes holding the subscribers', wholeNumber(1), 2)
    .option('--payload-bytes <n>', 'publication data size (timestamp + padding)', wholeNumber(1), 100)
    .option('--publish-concurrency <n>', 'requests in flight when saturating', wholeNumber(1), 64)
    .option('--connect-concurrency <n>', 'sockets opening at once per worker', wholeNumber(1), 200)
    .option('--sockets-per-address <n>', 'sockets per 127.0.0.x source address', wholeNumber(1), 15_000)
    .option('--server-pid <pid>', 'read this process CPU and RSS from /proc', wholeNumber(1))
    .option('-o, --out <file>', 'write every figure as JSON')
    .option('--no-progress', 'no live progress on stderr')
    .action(async (flags: Flags) => {
      const options: BenchOptions = {
        url: flags.url,
        ...(flags.token === undefined ? {} : { token: flags.token }),
        ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
        apiUrl: flags.apiUrl ?? apiUrlOf(flags.url),
        subscribers: flags.subscribers,
        channels: flags.channels,
        channelPrefix: flags.channelPrefix,
        rate: flags.rate,
        duration: flags.duration,
        codec: flags.codec,
        workers: Math.min(flags.workers, flags.subscribers),
        payloadBytes: flags.payloadBytes,
        publishConcurrency: flags.publishConcurrency,
        connectConcurrency: flags.connectConcurrency,
        socketsPerAddress: flags.socketsPerAddress,
        ...(flags.serverPid === undefined ? {} : { serverPid: flags.serverPid }),
        progress: flags.progress === false ? 'off' : io.stderr.isTTY === true ? 'tty' : 'lines',
      };
      const printer = progressPrinter(io.stderr, options.progress);
      const result = await runBench(options, (p) => printer.update(p));
      printer.done();
      io.stdout.write(formatResult(result));
      if (flags.out !== undefined) writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
    });
}
