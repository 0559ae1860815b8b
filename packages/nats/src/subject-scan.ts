import { DeliverPolicy } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { type NatsHandles, toUnavailable } from './connection.js';

/** One stored message as a scan returns it. */
export interface ScannedMessage {
  readonly seq: number;
  readonly header: MsgHdrs | undefined;
  readonly data: Uint8Array;
  /** Stream timestamp in ms. */
  readonly time: number;
}

/** Below this many expected messages a scan uses direct gets; above, an ordered consumer. */
const DIRECT_SCAN_MAX = 16;

/**
 * Every message stored on `subject` with a sequence up to `lastSeq`, oldest first. Small scans
 * use one direct get per message (`next_by_subj`, one round trip each, no server state); large
 * ones an ephemeral ordered consumer that streams them in one fetch and is deleted afterwards.
 * `expected` is the caller's estimate of the count and only picks the method.
 */
export async function scanSubject(
  h: NatsHandles,
  stream: string,
  subject: string,
  lastSeq: number,
  expected: number,
): Promise<ScannedMessage[]> {
  if (lastSeq <= 0) return [];
  try {
    return expected <= DIRECT_SCAN_MAX
      ? await directScan(h, stream, subject, lastSeq)
      : await consumerScan(h, stream, subject, lastSeq);
  } catch (err) {
    throw toUnavailable(err, 'reading history');
  }
}

async function directScan(h: NatsHandles, stream: string, subject: string, lastSeq: number) {
  const out: ScannedMessage[] = [];
  let seq = 1;
  while (seq <= lastSeq) {
    const msg = await h.jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    if (msg === null || msg.seq > lastSeq) break;
    out.push({ seq: msg.seq, header: msg.header, data: msg.data, time: msg.time.getTime() });
    seq = msg.seq + 1;
  }
  return out;
}

async function consumerScan(h: NatsHandles, stream: string, subject: string, lastSeq: number) {
  const consumer = await h.js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const out: ScannedMessage[] = [];
  try {
    // Each fetch returns what is there now; the loop ends at the top read before the scan, or
    // when the consumer reports nothing pending (messages purged meanwhile).
    for (let done = false; !done; ) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        if (m.seq <= lastSeq) out.push({ seq: m.seq, header: m.headers, data: m.data, time: m.time.getTime() });
        if (m.seq >= lastSeq || m.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (got === 0) done = true;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return out;
}
