import { encodeCursor } from '@tidings/protocol';
import type { SharedFrameBuilder } from '../../core/encoded-push.js';
import { type Chunk, type EventFramer, joinAsHttpChunk, joinChunks } from './event-framer.js';
import { decodeOneWayRecords } from './one-way-codec.js';

/**
 * The framed `publication` event: the one way both the per-session path and the shared fast
 * path build it, so the two stay byte for byte alike. `channelJson` is the channel name as a
 * JSON string; `epoch` "" leaves the member out; `cursor` is the stream position after it.
 */
export function publicationEvent(
  framer: EventFramer,
  channelJson: string,
  epoch: string,
  offset: number,
  data: Uint8Array,
  extras: string,
  cursor: string,
): Chunk[] {
  const epochMember = epoch === '' ? '' : `,"epoch":${JSON.stringify(epoch)}`;
  const head = `{"type":"publication","channel":${channelJson},"offset":${offset}${epochMember},"data":`;
  return framer.event('publication', [head, data, extras], cursor);
}

const builders = new WeakMap<EventFramer, SharedFrameBuilder>();
const chunkBuilders = new WeakMap<EventFramer, SharedFrameBuilder>();

/**
 * The builder of the event a stream carrying ONE channel, at `epoch` (the `variant`), writes
 * for a publication unit of `oneWayCodec`. Such a stream's cursor after the event depends only
 * on channel, epoch and offset, so the bytes are the same for every such subscriber and are
 * built once per publication, framer and epoch (`EncodedPush.frameFor`). One builder per
 * framer, so its identity is shared by every stream of an endpoint.
 */
export function sharedEventBuilder(framer: EventFramer): SharedFrameBuilder {
  let builder = builders.get(framer);
  if (builder === undefined) {
    builder = {
      build(unit: Uint8Array, _codec, epoch: string): Uint8Array {
        return joinChunks(sharedEvent(framer, unit, epoch));
      },
    };
    builders.set(framer, builder);
  }
  return builder;
}

/**
 * Like `sharedEventBuilder`, the event wrapped as one HTTP/1.1 chunk, exactly as a chunked
 * `res.write` of the event frames it, for writing straight to the socket (`chunkSocket`).
 */
export function sharedChunkBuilder(framer: EventFramer): SharedFrameBuilder {
  let builder = chunkBuilders.get(framer);
  if (builder === undefined) {
    builder = {
      build(unit: Uint8Array, _codec, epoch: string): Uint8Array {
        return joinAsHttpChunk(sharedEvent(framer, unit, epoch));
      },
    };
    chunkBuilders.set(framer, builder);
  }
  return builder;
}

function sharedEvent(framer: EventFramer, unit: Uint8Array, epoch: string): Chunk[] {
  const [record] = decodeOneWayRecords(unit);
  if (record?.kind !== 'publication') throw new Error('a shared one-way event needs a publication unit');
  const { channel, offset, data, extras } = record;
  const cursor = encodeCursor({ [channel]: { epoch, offset } });
  return publicationEvent(framer, JSON.stringify(channel), epoch, offset, data, extras, cursor);
}
