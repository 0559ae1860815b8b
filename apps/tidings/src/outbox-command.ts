import { createPostgresOutbox, outboxMigrationSql } from '@tidings/ingest';
import { silentLogger } from '@tidings/server';
import { type Command, Option } from 'commander';
import { CliError } from './cli-error.js';
import { loadConfig } from './config/load.js';
import type { CliIo } from './program.js';

interface OutboxFlags {
  readonly config?: string;
  readonly url?: string;
}

function outboxSettings(opts: OutboxFlags, io: CliIo) {
  const config = loadConfig({ ...(opts.config === undefined ? {} : { file: opts.config }), env: io.env });
  return { ...config.outbox, url: opts.url ?? config.outbox.url };
}

/**
 * `tidings outbox init` creates the outbox table, its `_failed` companion and the NOTIFY trigger
 * (idempotent); `tidings outbox sql` prints the same migration for a migration tool.
 */
export function registerOutboxCommand(program: Command, io: CliIo): void {
  const outbox = program.command('outbox').description('the PostgreSQL outbox (docs/outbox.md)');
  const configOption = () =>
    new Option('-c, --config <file>', 'JSON config file (outbox.* options)').env('TIDINGS_CONFIG');

  outbox
    .command('init')
    .description('create the outbox table, <table>_failed and the NOTIFY trigger (safe to run again)')
    .addOption(configOption())
    .option('--url <url>', 'PostgreSQL URL (default: outbox.url of the config)')
    .action(async (opts: OutboxFlags) => {
      const settings = outboxSettings(opts, io);
      if (settings.url === undefined) {
        throw new CliError('no PostgreSQL URL', 'pass --url postgres://… or set outbox.url (TIDINGS_OUTBOX_URL)');
      }
      const consumer = createPostgresOutbox({
        url: settings.url,
        schema: settings.schema,
        table: settings.table,
        notifyChannel: settings.notifyChannel,
        publisher: { publish: () => Promise.reject(new Error('init does not publish')) },
        logger: silentLogger,
      });
      try {
        await consumer.init();
      } catch (error) {
        throw new CliError(`cannot create the outbox: ${(error as Error).message}`);
      } finally {
        await consumer.close();
      }
      io.stdout.write(
        `outbox ready: "${settings.schema}"."${settings.table}" (+ _failed), trigger notifies "${settings.notifyChannel}"\n`,
      );
    });

  outbox
    .command('sql')
    .description('print the outbox migration SQL (for a migration tool) instead of running it')
    .addOption(configOption())
    .action((opts: OutboxFlags) => {
      const s = outboxSettings(opts, io);
      io.stdout.write(outboxMigrationSql({ schema: s.schema, table: s.table, notifyChannel: s.notifyChannel }));
    });
}
