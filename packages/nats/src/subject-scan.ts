import type { MsgHdrs } from '@nats-io/transport-node';
import { type NatsHandles, toUnavailable } from './connection.js';

/** One stored message as a scan returns it. */
export interface ScannedMessage {
  readonly seq: number;
  readonly subject: string;
  readonly header: MsgHdrs | undefined;
  readonly data: Uint8Array;
  /** Stream timestamp in ms. */
  readonly time: number;
}

/** After this many direct gets a scan switches to an ordered consumer. */
const DIRECT_SCAN_MAX = 16;

/**
 * Every message stored on `subject` (wildcards allowed) with a sequence up to `lastSeq`, oldest
 * first. The first messages come from direct gets (`next_by_subj`, one round trip each, no server
 * state), which is all a short subject needs; past `DIRECT_SCAN_MAX` the rest streams through an
 * ephemeral ordered consumer starting after the last one read, deleted afterwards. Failures
 * reject with `TIDINGS_ERR_UNAVAILABLE`.
 */
export async function scanSubject(
  h: NatsHandles,
  stream: string,
  subject: string,
  lastSeq = Number.MAX_SAFE_INTEGER,
): Promise<ScannedMessage[]> {
  try {
    const out: ScannedMessage[] = [];
    let seq = 1;
    while (seq <= lastSeq) {
      if (out.length >= DIRECT_SCAN_MAX) return out.concat(await consumerScan(h, stream, subject, seq, lastSeq));
      const msg = await h.jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
      if (msg === null || msg.seq > lastSeq) break;
      out.push({ seq: msg.seq, subject: msg.subject, header: msg.header, data: msg.data, time: msg.time.getTime() });
      seq = msg.seq + 1;
    }
    return out;
  } catch (err) {
    throw toUnavailable(err, `reading ${stream}`);
  }
}

async function consumerScan(h: NatsHandles, stream: string, subject: string, fromSeq: number, lastSeq: number) {
  const consumer = await h.js.consumers.get(stream, { filter_subjects: subject, opt_start_seq: fromSeq });
  const out: ScannedMessage[] = [];
  try {
    // Each fetch returns what is there now; the scan ends at `lastSeq`, when nothing is pending
    // (the rest was purged meanwhile), or when a fetch comes back empty.
    for (let done = false; !done; ) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        if (m.seq <= lastSeq)
          out.push({ seq: m.seq, subject: m.subject, header: m.headers, data: m.data, time: m.time.getTime() });
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
