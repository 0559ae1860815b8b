import { PassThrough } from 'node:stream';
import { isTidingsError } from '@tidings/protocol';
import { silentLogger } from '@tidings/server';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config/load.js';
import { planIngest, startIngest } from './ingest.js';
import { createProgram } from './program.js';

const publisher = { publish: () => Promise.resolve({}) };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!isTidingsError(error)) throw error;
    expect(error.code).toBe('TIDINGS_ERR_CONFIG');
    return error.message;
  }
  throw new Error('expected a config error');
}

describe('outbox and ingest config', () => {
  it('plans one source per configured consumer, and none by default', () => {
    expect(planIngest(loadConfig(), publisher, silentLogger)).toHaveLength(0);
    const config = loadConfig({
      base: {
        outbox: { enabled: true, url: 'postgres://127.0.0.1/test' },
        ingest: {
          sources: [
            { type: 'redis-streams', streams: ['s'], channel: 'feed:{stream}' },
            { type: 'nats-jetstream', stream: 'S', channel: 'feed:{subject.1}' },
            { type: 'rabbitmq', queue: 'q', channel: 'feed:{routingKey}' },
          ],
        },
      },
    });
    expect(planIngest(config, publisher, silentLogger).map((make) => make().name)).toEqual([
      'outbox:public.tidings_outbox',
      'redis-streams:tidings',
      'nats:S/tidings',
      'rabbitmq:q',
    ]);
  });

  it('refuses a bad channel template at start, naming the source', () => {
    const config = loadConfig({
      base: { ingest: { sources: [{ type: 'rabbitmq', queue: 'q', channel: 'feed:{routingKey' }] } },
    });
    expect(configError(() => planIngest(config, publisher, silentLogger))).toMatch(
      /ingest\.sources\[0\]\.channel: unclosed "\{"/,
    );
  });

  it('refuses an enabled outbox without a URL, a bad table name and an unknown source type', () => {
    expect(configError(() => loadConfig({ base: { outbox: { enabled: true } } }))).toContain('outbox.url');
    expect(configError(() => loadConfig({ base: { outbox: { table: 'Bad-Name' } } }))).toContain('outbox.table');
    expect(
      configError(() => loadConfig({ base: { ingest: { sources: [{ type: 'kafka', channel: 'x' }] } } } as never)),
    ).toContain('ingest.sources');
  });

  it('retries a source that cannot start on a fresh instance, and closes the one that started', async () => {
    const events: string[] = [];
    let made = 0;
    const make = () => {
      const n = ++made;
      return {
        name: `fake:${n}`,
        start: async () => {
          events.push(`start ${n}`);
          if (n < 3) throw new Error('broker unreachable');
        },
        close: async () => {
          events.push(`close ${n}`);
        },
      };
    };
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (_o: object, msg?: string) => errors.push(msg ?? '') };
    const running = startIngest([make], 5, logger);
    await vi.waitFor(() => expect(events).toContain('start 3'));
    expect(errors).toEqual(['ingest: cannot start source; retrying', 'ingest: cannot start source; retrying']);
    await running.close();
    expect(events).toEqual(['start 1', 'close 1', 'start 2', 'close 2', 'start 3', 'close 3']);
  });

  it('`tidings outbox sql` prints the migration for the configured names', async () => {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const program = createProgram({
      stdout,
      stderr: new PassThrough(),
      env: { TIDINGS_OUTBOX_SCHEMA: 'app', TIDINGS_OUTBOX_TABLE: 'events_outbox' },
    });
    await program.parseAsync(['node', 'tidings', 'outbox', 'sql']);
    expect(out).toContain('CREATE TABLE IF NOT EXISTS "app"."events_outbox" (');
    expect(out).toContain('CREATE TABLE IF NOT EXISTS "app"."events_outbox_failed" (');
    expect(out).toContain('AFTER INSERT ON "app"."events_outbox"');
  });
});
