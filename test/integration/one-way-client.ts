// A minimal streaming client for the one-way transports, built on Node's fetch: it parses SSE
// blocks or NDJSON lines as they arrive and lets a test wait for the next matching event.

/** One parsed event. For SSE, `id` is the `id:` field; for NDJSON it is the `cursor` member. */
export interface StreamEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: Record<string, unknown>;
  /** Raw text of the block or line, for assertions on framing. */
  readonly raw: string;
}

export type StreamFormat = 'sse' | 'ndjson';

export class StreamClient {
  readonly response: Response;
  readonly events: StreamEvent[] = [];
  /** SSE comments (heartbeats) and NDJSON heartbeat lines. */
  heartbeats = 0;
  ended = false;
  readonly #format: StreamFormat;
  readonly #abort: AbortController;
  #buffer = '';
  #waiters: Array<() => void> = [];

  private constructor(response: Response, format: StreamFormat, abort: AbortController) {
    this.response = response;
    this.#format = format;
    this.#abort = abort;
    void this.#pump();
  }

  /** Opens a stream; resolves once the response headers arrived (any status). */
  static async open(url: string, format: StreamFormat, headers: Record<string, string> = {}): Promise<StreamClient> {
    const abort = new AbortController();
    const response = await fetch(url, { headers, signal: abort.signal });
    return new StreamClient(response, format, abort);
  }

  /** Waits for the first event not yet consumed that matches, and consumes everything up to it. */
  async next(match: (e: StreamEvent) => boolean = () => true, ms = 5000): Promise<StreamEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.events.findIndex(match);
      if (index >= 0) return this.events.splice(0, index + 1)[index]!;
      if (this.ended) throw new Error(`stream ended without a matching event; got ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; events so far: ${JSON.stringify(this.events.map((e) => e.raw))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the server ends the stream. */
  async untilEnded(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.#abort.abort();
  }

  async #pump(): Promise<void> {
    const body = this.response.body;
    if (body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.#buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        this.#parse();
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch {
      // aborted by the test
    }
    this.ended = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  #parse(): void {
    const separator = this.#format === 'sse' ? '\n\n' : '\n';
    for (let end = this.#buffer.indexOf(separator); end >= 0; end = this.#buffer.indexOf(separator)) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + separator.length);
      if (this.#format === 'sse') this.#sse(block);
      else this.#ndjson(block);
    }
  }

  #sse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let comment = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comment = true;
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) {
      if (comment) this.heartbeats++;
      return;
    }
    this.events.push({ event, id, data: JSON.parse(data.join('\n')) as Record<string, unknown>, raw: block });
  }

  #ndjson(line: string): void {
    if (line === '') return;
    const data = JSON.parse(line) as Record<string, unknown>;
    if (data.type === 'heartbeat') {
      this.heartbeats++;
      return;
    }
    const cursor = typeof data.cursor === 'string' ? data.cursor : undefined;
    this.events.push({ event: String(data.type), id: cursor, data, raw: line });
  }
}
