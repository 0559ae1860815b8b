import { readFileSync, writeFileSync } from 'node:fs';
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerBenchCommand } from './bench/command.js';
import { CliError } from './cli-error.js';
import type { ConfigOverride } from './config/env.js';
import { generateConfigText } from './config/genconfig.js';
import { loadConfig } from './config/load.js';
import { generateToken } from './gentoken.js';
import { registerOutboxCommand } from './outbox-command.js';
import { runServe } from './run-serve.js';
import { packageVersion } from './version.js';

export { CliError } from './cli-error.js';

/** The process surface the CLI uses, injected so commands can be tested without a process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
}

function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Builds the `tidings` command tree. Actions reject with `CliError` or `TidingsError`. */
export function createProgram(io: CliIo): Command {
  const program = new Command('tidings')
    .description('Tidings: a self-hostable real-time data API server (Centrifuge protocol compatible)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('run the server; without --config, a development profile with generated secrets (loopback only)')
    .addOption(
      new Option('-c, --config <file>', 'JSON config file, or - for stdin (see docs/configuration.md)').env(
        'TIDINGS_CONFIG',
      ),
    )
    .option('-p, --port <n>', 'port to listen on; 0 picks a free one (http.port)')
    .option('-H, --host <host>', 'interface to bind (http.host)')
    .option('-l, --log-level <level>', 'trace, debug, info, warn, error, fatal or silent (log.level)')
    .option('--engine <type>', 'memory, redis or nats (engine.type)')
    .option('--redis-url <url>', 'Redis URL for --engine redis (engine.url)')
    .option('--nats-servers <list>', 'comma-separated NATS servers for --engine nats (engine.servers)')
    .option('-w, --workers <n>', 'server processes on the port, or "auto" for one per core (workers)')
    .action(
      async (opts: {
        config?: string;
        port?: string;
        host?: string;
        logLevel?: string;
        engine?: string;
        redisUrl?: string;
        natsServers?: string;
        workers?: string;
      }) => {
        const flags: ConfigOverride[] = [];
        if (opts.port !== undefined) flags.push({ path: 'http.port', value: opts.port, source: '--port' });
        if (opts.host !== undefined) flags.push({ path: 'http.host', value: opts.host, source: '--host' });
        if (opts.logLevel !== undefined) flags.push({ path: 'log.level', value: opts.logLevel, source: '--log-level' });
        if (opts.engine !== undefined) flags.push({ path: 'engine.type', value: opts.engine, source: '--engine' });
        if (opts.redisUrl !== undefined)
          flags.push({ path: 'engine.url', value: opts.redisUrl, source: '--redis-url' });
        if (opts.natsServers !== undefined)
          flags.push({ path: 'engine.servers', value: opts.natsServers, source: '--nats-servers' });
        if (opts.workers !== undefined) flags.push({ path: 'workers', value: opts.workers, source: '--workers' });
        await runServe({ file: opts.config, flags, io });
      },
    );

  program
    .command('genconfig')
    .description('print a complete production config with fresh secrets (one HS256 key, one API key)')
    .option('-o, --output <file>', 'write to this file (mode 0600, must not exist) instead of stdout')
    .action((opts: { output?: string }) => {
      const text = generateConfigText();
      if (opts.output === undefined) {
        io.stdout.write(text);
        return;
      }
      try {
        writeFileSync(opts.output, text, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new CliError(
          `cannot write ${opts.output}: ${code === 'EEXIST' ? 'the file exists' : (code ?? String(error))}`,
          'choose another path; genconfig never overwrites a config',
        );
      }
      io.stderr.write(`wrote ${opts.output}; start with: tidings serve --config ${opts.output}\n`);
    });

  program
    .command('gentoken')
    .description("print a connection token signed with the config's first HMAC key (or --private-key)")
    .addOption(new Option('-c, --config <file>', 'JSON config file').env('TIDINGS_CONFIG'))
    .requiredOption('-u, --user <id>', 'user id (sub claim)')
    .option('-t, --ttl <seconds>', 'lifetime in seconds', positiveInt, 3600)
    .option('--channels <list>', 'comma-separated server-side subscriptions (channels claim)')
    .option('--private-key <file>', 'PEM private key, for an RS*/ES*/EdDSA key of auth.keys')
    .option('--kid <kid>', 'use the key of auth.keys with this kid')
    .action(
      async (opts: {
        config?: string;
        user: string;
        ttl: number;
        channels?: string;
        privateKey?: string;
        kid?: string;
      }) => {
        if (
          opts.config === undefined &&
          io.env.TIDINGS_AUTH_HMAC_SECRET === undefined &&
          io.env.TIDINGS_AUTH_KEYS === undefined
        ) {
          throw new CliError(
            'gentoken needs the server config',
            'pass --config FILE (or set TIDINGS_AUTH_HMAC_SECRET)',
          );
        }
        const config = loadConfig({ ...(opts.config === undefined ? {} : { file: opts.config }), env: io.env });
        const token = await generateToken(config, {
          user: opts.user,
          ttlSec: opts.ttl,
          ...(opts.channels === undefined
            ? {}
            : {
                channels: opts.channels
                  .split(',')
                  .map((c) => c.trim())
                  .filter((c) => c !== ''),
              }),
          ...(opts.privateKey === undefined ? {} : { privateKey: readTextFile(opts.privateKey, 'private key') }),
          ...(opts.kid === undefined ? {} : { kid: opts.kid }),
        });
        io.stdout.write(`${token}\n`);
      },
    );

  registerBenchCommand(program, io);
  registerOutboxCommand(program, io);

  program
    .command('version')
    .description('print the version')
    .action(() => {
      io.stdout.write(`tidings ${packageVersion()} (node ${process.version})\n`);
    });

  return program;
}

/** One readable error line plus what to do next; stack traces only for unexpected errors. */
export function describeFailure(error: unknown): string {
  if (error instanceof CliError)
    return `tidings: ${error.message}\n${error.hint === undefined ? '' : `  ${error.hint}\n`}`;
  if (isTidingsError(error) && error.code === TidingsErrorCode.Config) {
    const hint = error.message.startsWith('invalid configuration')
      ? '  Fix the options above (docs/configuration.md lists them all) and run again.\n'
      : '';
    return `tidings: ${error.message}\n${hint}`;
  }
  if (isTidingsError(error)) return `tidings: ${error.message}\n`;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `tidings: unexpected error: ${text}\n  This is a bug; please report it with the command you ran.\n`;
}
