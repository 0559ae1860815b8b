import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** Header names of the messages on a channel's history subject. */
export const Header = {
  Kind: 'Tidings-Kind',
  Offset: 'Tidings-Offset',
  Epoch: 'Tidings-Epoch',
  /** History size the publish asked for; `0` marks a publication kept only as the top carrier. */
  Size: 'Tidings-Size',
  /** History TTL of the publication in ms, counted from its JetStream timestamp. */
  Ttl: 'Tidings-Ttl',
} as const;

/**
 * What a message on a history subject is. `pub` is a publication. `top` is a marker carrying
 * only the channel's top offset and epoch: written when a channel is first read (so its epoch
 * is stable before the first publish) and by `removeHistory` (so the top survives the purge).
 */
export type RecordKind = 'pub' | 'top';

/** The decoded headers of one history message. */
export interface StreamRecord {
  readonly kind: RecordKind;
  readonly offset: number;
  readonly epoch: string;
  readonly size: number;
  readonly ttlMs: number;
}

/** Headers of a record; `expectedSeq`-style JetStream headers are added by the publisher. */
export function recordHeaders(record: StreamRecord): MsgHdrs {
  const h = headers();
  h.set(Header.Kind, record.kind);
  h.set(Header.Offset, String(record.offset));
  h.set(Header.Epoch, record.epoch);
  h.set(Header.Size, String(record.size));
  h.set(Header.Ttl, String(record.ttlMs));
  return h;
}

/**
 * Decodes the headers of a history message; `undefined` for a message this engine did not write
 * (someone else publishing into the subject space), which readers skip.
 */
export function readRecord(h: MsgHdrs | undefined): StreamRecord | undefined {
  if (h === undefined) return undefined;
  const kind = h.get(Header.Kind);
  if (kind !== 'pub' && kind !== 'top') return undefined;
  const offset = Number(h.get(Header.Offset));
  const epoch = h.get(Header.Epoch);
  const size = Number(h.get(Header.Size));
  const ttlMs = Number(h.get(Header.Ttl));
  if (!Number.isSafeInteger(offset) || offset < 0 || epoch === '') return undefined;
  return {
    kind,
    offset,
    epoch,
    size: Number.isFinite(size) ? size : 0,
    ttlMs: Number.isFinite(ttlMs) ? ttlMs : 0,
  };
}
