import type { SeededRandom } from '../chaos/seeded-random.js';
import type { Ledger } from '../ledger.js';

/** Options of `startPublishers`. */
export interface PublishersOptions {
  readonly count: number;
  readonly channels: readonly string[];
  readonly base: () => string;
  readonly apiKey: string;
  readonly ledger: Ledger;
  readonly random: SeededRandom;
  /** Pause between publications of one publisher. */
  readonly intervalMs: number;
  /** Tries per publication (the same idempotency key each time) before it is given up. */
  readonly maxAttempts: number;
}

/** What the publishers saw. `acked` publications are those the ledger checks. */
export interface PublishersOutcome {
  attempted: number;
  acked: number;
  /** Retries after a 503, a timeout or a transport error (same idempotency key). */
  retries: number;
  /** Publications never acknowledged within `maxAttempts` (not in the ledger; may or may not exist). */
  givenUp: number;
  /** Answers that are neither 200, 503 nor 429: a bug in the server or in this run. */
  unexpected: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `count` publishers posting `{ id }` to `/api/publish` of whatever node `base()` reaches, each
 * with an idempotency key equal to its id. A publication whose outcome is unknown (timeout,
 * reset, 503) is retried with the same key, so the server stores it at most once; each 200 is
 * recorded as acked. `stop()` finishes the publications in flight and resolves with the outcome.
 */
export function startPublishers(options: PublishersOptions) {
  const outcome: PublishersOutcome = { attempted: 0, acked: 0, retries: 0, givenUp: 0, unexpected: [] };
  let stopped = false;

  const publishOnce = async (channel: string, id: string): Promise<'acked' | 'retry'> => {
    try {
      const res = await fetch(`${options.base()}/api/publish`, {
        method: 'POST',
        headers: { 'x-api-key': options.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: { id }, idempotency_key: id }),
        signal: AbortSignal.timeout(3000),
      });
      const text = await res.text();
      if (res.status === 200) {
        const body = JSON.parse(text) as { result: { offset: number; epoch: string } };
        options.ledger.acked(channel, { offset: body.result.offset, epoch: body.result.epoch, id });
        return 'acked';
      }
      if (res.status !== 503 && res.status !== 429) outcome.unexpected.push(`${res.status} ${text.slice(0, 200)}`);
      return 'retry';
    } catch {
      return 'retry';
    }
  };

  const loops = Array.from({ length: options.count }, async (_, p) => {
    for (let i = 0; !stopped; i++) {
      const channel = options.random.pick(options.channels);
      const id = `p${p}-${i}`;
      outcome.attempted++;
      let acked = false;
      for (let attempt = 0; attempt < options.maxAttempts && !acked; attempt++) {
        if (attempt > 0) {
          outcome.retries++;
          await sleep(Math.min(1000, 50 * 2 ** attempt));
        }
        acked = (await publishOnce(channel, id)) === 'acked';
      }
      if (acked) outcome.acked++;
      else outcome.givenUp++;
      await sleep(options.intervalMs);
    }
  });
  const done = Promise.all(loops).then(() => outcome);
  return {
    outcome,
    stop: async () => {
      stopped = true;
      return done;
    },
  };
}
