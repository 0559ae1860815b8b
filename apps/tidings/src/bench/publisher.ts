import { Agent, request } from 'node:http';
import type { PublishStyle } from './clients/index.js';
import { nowMicros } from './messages.js';

/** How the publisher runs; see `BenchOptions` for the meaning of each field. */
export interface PublisherOptions {
  readonly apiUrl: string;
  /** Request shape, from the transport's server (`publishStyleOf`); `api` when omitted. */
  readonly publishStyle?: PublishStyle;
  readonly apiKey?: string;
  readonly channels: number;
  readonly channelPrefix: string;
  /** Publications per second over all channels; 0 = saturating. */
  readonly rate: number;
  readonly payloadBytes: number;
  readonly concurrency: number;
}

/** Counts of a publisher run; `perChannel[i]` is how many publications channel i got. */
export interface PublisherStats {
  readonly published: number;
  readonly errors: number;
  readonly perChannel: readonly number[];
}

/**
 * The request body of one publication: data `{"t":<send time µs>,"p":"xxx…"}` padded so the data
 * is `payloadBytes` long (never shorter than the timestamp itself).
 */
export function publishBody(channel: string, sentAtUs: number, payloadBytes: number): string {
  return `{"channel":${JSON.stringify(channel)},"data":${publicationData(sentAtUs, payloadBytes)}}`;
}

/** The data of one publication, `{"t":<send time µs>,"p":"xxx…"}`, `payloadBytes` long. */
export function publicationData(sentAtUs: number, payloadBytes: number): string {
  const head = `{"t":${sentAtUs},"p":"`;
  return `${head}${'x'.repeat(Math.max(0, payloadBytes - head.length - 2))}"}`;
}

/**
 * Publishes until `stop()` is called, through `POST /api/publish` (style `api`: a 200 answer
 * without an `error` member is a success) or Nchan's `POST /pub?id=<channel>` (style `nchan`: the
 * data is the body, any 2xx is a success): at a fixed rate (requests are
 * sent on a 5 ms tick to catch up with the schedule, so the mean rate is exact) or saturating
 * with `concurrency` requests in flight. Channels are used round-robin.
 */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #agent: Agent;
  readonly #url: URL;
  readonly #nchan: boolean;
  readonly #perChannel: number[];
  #published = 0;
  #errors = 0;
  #inFlight = 0;
  #started = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void) | undefined;

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#nchan = options.publishStyle === 'nchan';
    this.#url = new URL(this.#nchan ? '/pub' : '/api/publish', options.apiUrl);
    this.#agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, options.concurrency) });
    this.#perChannel = new Array<number>(options.channels).fill(0);
  }

  start(): void {
    this.#started = performance.now();
    if (this.#options.rate === 0) {
      for (let i = 0; i < this.#options.concurrency; i++) this.#sendNext();
    } else {
      this.#timer = setInterval(() => this.#catchUp(), 5);
    }
  }

  #catchUp(): void {
    const due = Math.floor(((performance.now() - this.#started) / 1000) * this.#options.rate);
    const sent = this.#published + this.#errors + this.#inFlight;
    for (let i = sent; i < due; i++) this.#send();
  }

  #sendNext(): void {
    if (!this.#stopped) this.#send();
  }

  #send(): void {
    const { channels, channelPrefix, payloadBytes, apiKey, rate } = this.#options;
    const index = (this.#published + this.#errors + this.#inFlight) % channels;
    const channel = `${channelPrefix}${index}`;
    const body = this.#nchan
      ? publicationData(nowMicros(), payloadBytes)
      : publishBody(channel, nowMicros(), payloadBytes);
    let url = this.#url;
    if (this.#nchan) {
      url = new URL(this.#url);
      url.searchParams.set('id', channel);
    }
    this.#inFlight++;
    const req = request(url, {
      method: 'POST',
      agent: this.#agent,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        ...(apiKey === undefined ? {} : { 'X-API-Key': apiKey }),
      },
    });
    const finish = (ok: boolean): void => {
      this.#inFlight--;
      if (ok) {
        this.#published++;
        this.#perChannel[index] = (this.#perChannel[index] ?? 0) + 1;
      } else this.#errors++;
      if (rate === 0) this.#sendNext();
      if (this.#inFlight === 0) this.#idle?.();
    };
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      const status = res.statusCode ?? 0;
      const nchan = this.#nchan;
      res.on('end', () => finish(nchan ? status >= 200 && status < 300 : status === 200 && !text.includes('"error"')));
      res.on('error', () => finish(false));
    });
    req.on('error', () => finish(false));
    req.end(body);
  }

  /** Stops sending and resolves once every request in flight has been answered. */
  async stop(): Promise<PublisherStats> {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.#agent.destroy();
    return { published: this.#published, errors: this.#errors, perChannel: [...this.#perChannel] };
  }

  get published(): number {
    return this.#published;
  }
}
