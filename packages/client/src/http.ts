/** The part of WHATWG `fetch` the HTTP transports use (browsers, Node 18+, or injected). */
export type FetchLike = (
  url: string,
  init: {
    readonly method: string;
    readonly headers?: Record<string, string>;
    readonly body?: string;
    readonly signal?: AbortSignal;
    readonly credentials?: 'omit' | 'same-origin' | 'include';
  },
) => Promise<ResponseLike>;

/** The part of a fetch `Response` the HTTP transports use. */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly body: {
    getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
  } | null;
  json(): Promise<unknown>;
}

/** `fetch` from the options or `globalThis`; throws `TypeError` when there is none. */
export function resolveFetch(injected: FetchLike | undefined): FetchLike {
  const f = injected ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (f === undefined) throw new TypeError('no fetch: pass one in the fetch option');
  return injected ?? ((url, init) => (f as FetchLike).call(globalThis, url, init));
}

/**
 * Sends the commands of an emulated session (SSE or fetch stream) to `POST /emulation` as
 * `{ node, session, data }`, one request at a time so the server sees them in order; frames queued
 * while a request is in flight go together in the next one. Nothing is sent before the connect
 * reply named the session.
 */
export class EmulationLink {
  readonly #url: string;
  readonly #fetch: FetchLike;
  readonly #credentials: 'omit' | 'same-origin' | 'include';
  readonly #onFail: (reason: string) => void;
  #session: string | undefined;
  #node = '';
  #queue: string[] = [];
  #busy = false;
  #closed = false;

  constructor(
    url: string,
    fetch: FetchLike,
    credentials: 'omit' | 'same-origin' | 'include',
    onFail: (reason: string) => void,
  ) {
    this.#url = url;
    this.#fetch = fetch;
    this.#credentials = credentials;
    this.#onFail = onFail;
  }

  /** Looks for the connect reply (`session`, `node`) in received JSON text until it is found. */
  observe(text: string): void {
    if (this.#session !== undefined) return;
    for (const line of text.split('\n')) {
      if (!line.includes('"session"')) continue;
      try {
        const reply = JSON.parse(line) as { connect?: { session?: string; node?: string } };
        if (typeof reply.connect?.session === 'string') {
          this.#session = reply.connect.session;
          this.#node = reply.connect.node ?? '';
          void this.#pump();
          return;
        }
      } catch {
        // Not ours to judge: the client's codec reports malformed frames.
      }
    }
  }

  send(text: string): void {
    if (this.#closed) return;
    this.#queue.push(text);
    void this.#pump();
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#closed || this.#session === undefined || this.#queue.length === 0) return;
    this.#busy = true;
    const data = this.#queue.splice(0).join('\n');
    let failure: string | undefined;
    try {
      const res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ node: this.#node, session: this.#session, data }),
        credentials: this.#credentials,
      });
      if (!res.ok) failure = `emulation POST answered ${res.status}`;
    } catch {
      failure = 'emulation POST failed';
    }
    this.#busy = false;
    if (failure !== undefined) {
      if (!this.#closed) this.#onFail(failure);
      return;
    }
    void this.#pump();
  }
}

/** `url` with `name=value` added to its query. */
export function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}
