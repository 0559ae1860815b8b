import { clientError, ErrorCode, type Publication, type StreamPosition } from '@tidings/protocol';
import type { BrokerPublishResult, StateEntry, StateStore } from '../broker/types.js';
import { applyMergePatch, type JsonValue } from '../internal/merge-patch.js';
import type { NamespaceOptions } from './channel-options.js';

/** Tag naming a publication's key inside a keyed state channel. */
export const stateKeyTag = 'key';
/** Tag marking a state publication whose data is an RFC 7396 merge patch (value `merge`). */
export const statePatchTag = 'patch';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The state key of a publication: its `key` tag, "" when untagged. */
export function stateKeyOf(tags: Readonly<Record<string, string>> | undefined): string {
  return tags?.[stateKeyTag] ?? '';
}

function parseJson(data: Uint8Array, what: string): JsonValue {
  try {
    return JSON.parse(decoder.decode(data)) as JsonValue;
  } catch {
    throw clientError(ErrorCode.BadRequest, `${what} must be JSON in a state channel`);
  }
}

/** What `StatePublisher.publish` sends to the broker. */
export interface StatePublishStep {
  readonly data: Uint8Array;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/**
 * Writes state channels for a node: turns a publish into the whole document (applying a merge
 * patch to the stored one), lets the broker store and fan it out, then records it with the
 * publication's position.
 *
 * Contract: publishes of one (channel, key) on this node are applied one at a time in call
 * order, so local merge patches never lose each other. Publication data must be JSON (wire 107
 * otherwise). Subscribers always receive whole documents; the `patch` tag is not forwarded.
 * Across nodes the newest offset wins per key (StateStore contract); two nodes merging patches
 * into one key at once may lose one patch, so such writers should send whole documents.
 */
export class StatePublisher {
  readonly #store: StateStore;
  readonly #now: () => number;
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(store: StateStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  publish(
    channel: string,
    data: Uint8Array,
    tags: Readonly<Record<string, string>> | undefined,
    ns: NamespaceOptions,
    send: (step: StatePublishStep) => Promise<BrokerPublishResult>,
  ): Promise<BrokerPublishResult> {
    const key = stateKeyOf(tags);
    const chainKey = `${channel}\u0000${key}`;
    const previous = this.#chains.get(chainKey) ?? Promise.resolve();
    const run = previous.then(
      () => this.#publishNow(channel, key, data, tags, ns, send),
      () => this.#publishNow(channel, key, data, tags, ns, send),
    );
    this.#chains.set(chainKey, run);
    void run.then(
      () => this.#release(chainKey, run),
      () => this.#release(chainKey, run),
    );
    return run;
  }

  #release(chainKey: string, run: Promise<unknown>): void {
    if (this.#chains.get(chainKey) === run) this.#chains.delete(chainKey);
  }

  async #publishNow(
    channel: string,
    key: string,
    data: Uint8Array,
    tags: Readonly<Record<string, string>> | undefined,
    ns: NamespaceOptions,
    send: (step: StatePublishStep) => Promise<BrokerPublishResult>,
  ): Promise<BrokerPublishResult> {
    const value = parseJson(data, 'publication data');
    let doc = data;
    let outTags = tags;
    if (tags?.[statePatchTag] !== undefined) {
      if (tags[statePatchTag] !== 'merge') throw clientError(ErrorCode.BadRequest, 'the patch tag must be "merge"');
      const stored = await this.#store.get(channel, key);
      const base = stored === undefined ? undefined : parseJson(stored.data, 'stored document');
      doc = encoder.encode(JSON.stringify(applyMergePatch(base, value)));
      const { [statePatchTag]: _, ...rest } = tags;
      outTags = Object.keys(rest).length > 0 ? rest : undefined;
    }
    const result = await send({ data: doc, tags: outTags });
    if (result.suppressed !== true) {
      const entry: StateEntry = { key, data: doc, offset: result.offset, epoch: result.epoch, time: this.#now() };
      await this.#store.put(channel, entry, ns.stateTtlMs);
    }
    return result;
  }
}

/**
 * A state channel's snapshot as publications: whole documents with their `key` tag, in offset
 * order, each at the offset of the publication that wrote it but never past `top` (a document
 * written after the top was read is also delivered live), so a client's position only moves
 * forward through it and ends at or before the top. An entry of an older epoch sits at `top`.
 */
export function snapshotPublications(entries: readonly StateEntry[], top: StreamPosition): Publication[] {
  return entries
    .map((entry) => ({
      data: entry.data,
      time: entry.time,
      offset: entry.epoch === top.epoch ? Math.min(entry.offset, top.offset) : top.offset,
      ...(entry.key !== '' ? { tags: { [stateKeyTag]: entry.key } } : {}),
    }))
    .sort((a, b) => a.offset - b.offset);
}
