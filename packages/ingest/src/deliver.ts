import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { ChannelRule } from './channel-rule.js';
import type { DeliveryOutcome, IngestMessage, IngestPublisher, IngestStats } from './types.js';

/**
 * True for failures that may pass: the engine is unreachable, the node is stopping, or anything
 * that is not a `TidingsError` (a socket error). The message stays unacked and is retried.
 * A refused channel (unknown namespace, bad name: `TIDINGS_ERR_CLIENT`, `TIDINGS_ERR_BAD_CHANNEL`)
 * will be refused forever, so it is not temporary.
 */
export function isTemporaryFailure(error: unknown): boolean {
  if (!isTidingsError(error)) return true;
  return error.code === TidingsErrorCode.Unavailable || error.code === TidingsErrorCode.State;
}

/**
 * Maps `message` to its channel with `rule` and publishes it, resolving once it is stored.
 * Resolves `unmapped` when the rule finds no channel or the node refuses the channel for good;
 * rejects (the caller must not ack) on a temporary failure.
 */
export async function deliver(
  publisher: IngestPublisher,
  rule: ChannelRule,
  message: IngestMessage,
  stats: IngestStats,
): Promise<DeliveryOutcome> {
  const target = rule.resolve(message.vars, message.data);
  if (!target.ok) {
    stats.unmapped++;
    return { kind: 'unmapped', reason: target.reason };
  }
  try {
    const result = await publisher.publish(
      target.channel,
      message.data,
      message.idempotencyKey === undefined ? {} : { idempotencyKey: message.idempotencyKey },
    );
    if (result.suppressed === true) {
      stats.suppressed++;
      return { kind: 'suppressed', channel: target.channel };
    }
    stats.published++;
    return { kind: 'published', channel: target.channel };
  } catch (error) {
    if (isTemporaryFailure(error)) {
      stats.retried++;
      throw error;
    }
    stats.unmapped++;
    return { kind: 'unmapped', reason: `channel "${target.channel}" refused: ${(error as Error).message}` };
  }
}

/** A fresh counter set. */
export function emptyStats(): IngestStats {
  return { published: 0, suppressed: 0, unmapped: 0, retried: 0 };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
