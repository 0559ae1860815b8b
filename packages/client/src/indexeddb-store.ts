import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { OutboxEntry, OutboxStore } from './outbox.js';

/** Options of {@link IndexedDbOutboxStore}. */
export interface IndexedDbOutboxStoreOptions {
  /** Database name (default `tidings-outbox`); one per outbox. */
  readonly name?: string;
  /** Default `globalThis.indexedDB`. */
  readonly indexedDB?: IDBFactory;
}

const storeName = 'entries';

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/**
 * Keeps outbox entries in IndexedDB, so publishes made offline survive a page reload or a browser
 * restart, without localStorage's size limit and synchronous writes. Entries are rows keyed by an
 * auto-increment sequence (so `load` returns them in the order they were added), with a unique
 * index on the entry id. Several tabs of one origin share the database: each may send an entry,
 * and the idempotency key (the entry id) makes the server store it once.
 */
export class IndexedDbOutboxStore implements OutboxStore {
  readonly #db: Promise<IDBDatabase>;

  constructor(options: IndexedDbOutboxStoreOptions = {}) {
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (factory === undefined) {
      throw new TidingsError(TidingsErrorCode.Config, 'IndexedDbOutboxStore: no indexedDB on this platform');
    }
    this.#db = new Promise((resolve, reject) => {
      const req = factory.open(options.name ?? 'tidings-outbox', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(storeName, { keyPath: 'seq', autoIncrement: true }).createIndex('id', 'id', {
          unique: true,
        });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async load(): Promise<OutboxEntry[]> {
    const tx = (await this.#db).transaction(storeName, 'readonly');
    const req = tx.objectStore(storeName).getAll();
    await done(tx);
    return (req.result as Array<OutboxEntry & { seq: number }>).map(({ id, channel, data }) => ({ id, channel, data }));
  }

  async add(entry: OutboxEntry): Promise<void> {
    const tx = (await this.#db).transaction(storeName, 'readwrite');
    tx.objectStore(storeName).add({ id: entry.id, channel: entry.channel, data: entry.data });
    await done(tx);
  }

  async remove(id: string): Promise<void> {
    const tx = (await this.#db).transaction(storeName, 'readwrite');
    const store = tx.objectStore(storeName);
    const key = store.index('id').getKey(id);
    key.onsuccess = () => {
      if (key.result !== undefined) store.delete(key.result);
    };
    await done(tx);
  }

  /** Closes the database connection (for tests and page teardown). */
  async close(): Promise<void> {
    (await this.#db).close();
  }
}
