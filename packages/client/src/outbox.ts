import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** One publish waiting to be sent. `data` is the JSON text of the payload. */
export interface OutboxEntry {
  /** Unique per entry; also the idempotency key the entry is sent with. */
  readonly id: string;
  readonly channel: string;
  readonly data: string;
}

/**
 * Where the outbox keeps entries. `load` returns them in the order they were added. Implementations
 * for React Native wrap AsyncStorage or MMKV behind the same three methods.
 */
export interface OutboxStore {
  load(): Promise<OutboxEntry[]>;
  add(entry: OutboxEntry): Promise<void>;
  remove(id: string): Promise<void>;
}

/** Keeps entries in memory: they survive reconnects, not a page reload or process exit. */
export class MemoryOutboxStore implements OutboxStore {
  readonly #entries: OutboxEntry[] = [];
  async load(): Promise<OutboxEntry[]> {
    return [...this.#entries];
  }
  async add(entry: OutboxEntry): Promise<void> {
    this.#entries.push(entry);
  }
  async remove(id: string): Promise<void> {
    const i = this.#entries.findIndex((e) => e.id === id);
    if (i >= 0) this.#entries.splice(i, 1);
  }
}

/** The subset of the Web Storage API the localStorage store needs (injectable for tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Keeps entries in `localStorage` (or any {@link KeyValueStorage}) under one key as a JSON array,
 * so publishes made offline survive a page reload. Synchronous storage, so no two writes interleave.
 */
export class LocalStorageOutboxStore implements OutboxStore {
  readonly #storage: KeyValueStorage;
  readonly #key: string;

  constructor(options: { readonly key?: string; readonly storage?: KeyValueStorage } = {}) {
    const storage = options.storage ?? (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (storage === undefined) {
      throw new TidingsError(TidingsErrorCode.Config, 'LocalStorageOutboxStore: no localStorage on this platform');
    }
    this.#storage = storage;
    this.#key = options.key ?? 'tidings.outbox';
  }

  async load(): Promise<OutboxEntry[]> {
    return this.#read();
  }
  async add(entry: OutboxEntry): Promise<void> {
    this.#write([...this.#read(), entry]);
  }
  async remove(id: string): Promise<void> {
    this.#write(this.#read().filter((e) => e.id !== id));
  }

  #read(): OutboxEntry[] {
    const text = this.#storage.getItem(this.#key);
    if (text === null) return [];
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value) ? (value as OutboxEntry[]) : [];
    } catch {
      return [];
    }
  }
  #write(entries: OutboxEntry[]): void {
    this.#storage.setItem(this.#key, JSON.stringify(entries));
  }
}

/** Bounds of the outbox. */
export interface OutboxLimits {
  /** Most entries kept; default 1,000. */
  readonly maxEntries: number;
  /** Most bytes of JSON data kept (sum of entries' `data.length`); default 1 MiB. */
  readonly maxBytes: number;
}

/** Default outbox bounds. */
export const defaultOutboxLimits: OutboxLimits = { maxEntries: 1000, maxBytes: 1024 * 1024 };

/**
 * Throws `TidingsError` State (`outbox full`) when adding `entry` to `entries` would exceed
 * `limits`: a full outbox refuses the new publish, it never drops a queued one.
 */
export function checkOutboxLimits(entries: readonly OutboxEntry[], entry: OutboxEntry, limits: OutboxLimits): void {
  const bytes = entries.reduce((n, e) => n + e.data.length, 0) + entry.data.length;
  if (entries.length + 1 > limits.maxEntries || bytes > limits.maxBytes) {
    throw new TidingsError(
      TidingsErrorCode.State,
      `outbox full (${entries.length} entries, limits ${limits.maxEntries} entries / ${limits.maxBytes} bytes)`,
    );
  }
}
