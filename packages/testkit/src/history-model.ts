import type { HistoryQuery, HistoryRetention } from '@tidings/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EngineFactory,
  type EngineUnderTest,
  EventRecorder,
  fromUtf8,
  uniqueChannel,
  utf8,
} from './engine-harness.js';

/** Options of `runHistoryModelTest`. */
export interface HistoryModelOptions {
  /** Engine name, shown in the suite title; default `engine`. */
  readonly name?: string;
  /** Creates the engine, once for the whole property; each run uses a fresh channel. */
  readonly create: EngineFactory;
  /** fast-check runs; default 100. */
  readonly numRuns?: number;
  /** Maximum commands per run; default 40. */
  readonly maxCommands?: number;
  /** Test timeout in ms; default 60 000. */
  readonly timeoutMs?: number;
}

/** The reference: a top offset, one epoch, and the retained publications as ids. */
class HistoryModel {
  top = 0;
  epoch: string | undefined;
  retained: Array<{ offset: number; id: string }> = [];
  constructor(readonly size: number) {}

  /** Records the epoch on first sight and checks it never changes afterwards. */
  observeEpoch(epoch: string): void {
    if (this.epoch === undefined) this.epoch = epoch;
    expect(epoch, 'epoch must stay stable').toBe(this.epoch);
  }
}

interface Real {
  readonly engine: EngineUnderTest;
  readonly channel: string;
  readonly retention: HistoryRetention;
}

type HistoryCommand = fc.AsyncCommand<HistoryModel, Real>;

let publishSeq = 0;

class PublishCommand implements HistoryCommand {
  check = () => true;
  async run(m: HistoryModel, r: Real): Promise<void> {
    const id = `p${++publishSeq}`;
    const result = await r.engine.broker.publish(r.channel, utf8(id), { history: r.retention });
    expect(result.offset, 'publish offset').toBe(m.top + 1);
    m.observeEpoch(result.epoch);
    m.top = result.offset;
    m.retained.push({ offset: result.offset, id });
    if (m.retained.length > m.size) m.retained.splice(0, m.retained.length - m.size);
  }
  toString = () => 'publish';
}

class ReadCommand implements HistoryCommand {
  constructor(
    readonly sinceSeed: number | undefined,
    readonly limit: number,
    readonly reverse: boolean,
  ) {}
  check = () => true;
  async run(m: HistoryModel, r: Real): Promise<void> {
    // The seed is folded onto 0..top+1 at run time, so `since` lands on interesting offsets.
    const since = this.sinceSeed === undefined ? undefined : this.sinceSeed % (m.top + 2);
    const query: HistoryQuery = {
      limit: this.limit,
      ...(this.reverse ? { reverse: true } : {}),
      ...(since === undefined ? {} : { since: { offset: since, epoch: m.epoch ?? '' } }),
    };
    const h = await r.engine.history.history(r.channel, query);
    m.observeEpoch(h.epoch);
    expect(h.offset, 'top offset').toBe(m.top);
    let expected = m.retained.filter((p) => since === undefined || p.offset > since);
    if (this.reverse) expected = [...expected].reverse();
    if (this.limit >= 0) expected = expected.slice(0, this.limit);
    expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual(expected.map((p) => [p.offset, p.id]));
  }
  toString = () =>
    `history(since seed ${this.sinceSeed ?? '-'}, limit ${this.limit}${this.reverse ? ', reverse' : ''})`;
}

class RemoveHistoryCommand implements HistoryCommand {
  check = () => true;
  async run(m: HistoryModel, r: Real): Promise<void> {
    await r.engine.history.removeHistory(r.channel);
    m.retained = [];
  }
  toString = () => 'removeHistory';
}

const commands = [
  fc.constant(new PublishCommand()),
  fc.constant(new PublishCommand()),
  fc
    .tuple(fc.option(fc.nat(1000), { nil: undefined }), fc.integer({ min: -1, max: 8 }), fc.boolean())
    .map(([seed, limit, reverse]) => new ReadCommand(seed, limit, reverse)),
  fc.constant(new RemoveHistoryCommand()),
];

/**
 * Registers a fast-check model-based test of a `HistoryStore` with its `Broker`: random sequences
 * of publish, history (since / limit / reverse) and removeHistory against a reference model with
 * the same size retention (TTLs are long, so only size and removal drop publications). Each run
 * uses a new channel and checks offsets, data, the top position and epoch stability.
 */
export function runHistoryModelTest(options: HistoryModelOptions): void {
  describe(`${options.name ?? 'engine'}: history model`, () => {
    it(
      'matches the reference model',
      async () => {
        const engine = await options.create();
        try {
          await engine.broker.start(new EventRecorder());
          await fc.assert(
            fc.asyncProperty(
              fc.integer({ min: 0, max: 6 }),
              fc.commands(commands, { maxCommands: options.maxCommands ?? 40 }),
              async (size, cmds) => {
                const real: Real = {
                  engine,
                  channel: uniqueChannel('model'),
                  retention: { size, ttlMs: 600_000, metaTtlMs: 600_000 },
                };
                await fc.asyncModelRun(() => ({ model: new HistoryModel(size), real }), cmds);
              },
            ),
            { numRuns: options.numRuns ?? 100 },
          );
        } finally {
          await engine.broker.close();
          await engine.presence.close();
          await engine.cleanup?.();
        }
      },
      options.timeoutMs ?? 60_000,
    );
  });
}
