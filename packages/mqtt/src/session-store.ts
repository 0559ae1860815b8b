/** One subscription of a persistent session with the stream position the client has acknowledged. */
export interface StoredSubscription {
  readonly topic: string;
  readonly channel: string;
  readonly qos: 0 | 1;
  readonly epoch: string;
  readonly offset: number;
}

/** What survives a persistent session's disconnect. */
export interface StoredSession {
  readonly subscriptions: readonly StoredSubscription[];
  /** Wildcard filters the session had: their matched channels have no stored positions. */
  readonly wildcardFilters?: number;
  /** Clock ms after which the session is gone. */
  readonly expiresAt: number;
}

/**
 * Persistent MQTT sessions of this node (3.1.1 clean session 0, 5.0 session expiry), keyed by
 * client id.
 *
 * Contract: bounded to `maxSessions` entries (the oldest stored is dropped first); an expired
 * session is never returned. `take` removes the entry: a connected client owns its session.
 */
export class SessionStore {
  readonly #sessions = new Map<string, StoredSession>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(maxSessions: number, now: () => number) {
    this.#max = maxSessions;
    this.#now = now;
  }

  /** Store (or replace) a session. */
  put(clientId: string, session: StoredSession): void {
    this.#sessions.delete(clientId);
    this.#sessions.set(clientId, session);
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
  }

  /** Remove and return a live session, or undefined. */
  take(clientId: string): StoredSession | undefined {
    const s = this.#sessions.get(clientId);
    if (s === undefined) return undefined;
    this.#sessions.delete(clientId);
    return s.expiresAt > this.#now() ? s : undefined;
  }

  /** Drop a session (clean start). */
  delete(clientId: string): void {
    this.#sessions.delete(clientId);
  }

  get size(): number {
    return this.#sessions.size;
  }
}
