import { type ClientRequest, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type CanaryProbe, type CanaryReceiver, canarySeq } from './probe.js';

/**
 * Measures delivery over a one-way HTTP stream to this server's own port: SSE (`data:` lines)
 * or NDJSON (`http_stream`). The canary token goes in `Authorization: Bearer`; the stream's
 * channel comes from the canary login's server-side subscription.
 */
export class StreamProbe implements CanaryProbe {
  readonly transport: 'sse' | 'http_stream';
  readonly #url: URL;
  readonly #token: string;
  readonly #id: string;
  readonly #receive: CanaryReceiver;
  #req: ClientRequest | undefined;
  #connected = false;

  constructor(options: {
    transport: 'sse' | 'http_stream';
    url: string;
    token: string;
    id: string;
    receive: CanaryReceiver;
  }) {
    this.transport = options.transport;
    this.#url = new URL(options.url);
    this.#token = options.token;
    this.#id = options.id;
    this.#receive = options.receive;
  }

  get connected(): boolean {
    return this.#connected;
  }

  connect(): Promise<void> {
    this.close();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (this.#req === req) this.#connected = false;
        if (!settled) {
          settled = true;
          reject(error);
        }
      };
      const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(this.#url, {
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: this.transport === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
        },
        // The server's certificate need not name the loopback address the canary dials.
        rejectUnauthorized: false,
      });
      this.#req = req;
      req.on('error', fail);
      req.setTimeout(5_000, () => {
        if (!settled) req.destroy(new Error(`canary ${this.transport} connect timed out`));
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(new Error(`canary ${this.transport} answered ${res.statusCode}`));
          return;
        }
        req.setTimeout(0);
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (chunk: string) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines)
            this.#line(line, () => {
              if (!settled) {
                settled = true;
                this.#connected = true;
                resolve();
              }
            });
        });
        res.on('close', () => fail(new Error(`canary ${this.transport} stream ended`)));
        res.on('error', fail);
      });
      req.end();
    });
  }

  #line(line: string, connected: () => void): void {
    const json = this.transport === 'sse' ? (line.startsWith('data: ') ? line.slice(6) : undefined) : line;
    if (json === undefined || json === '') return;
    const event = JSON.parse(json) as { type?: string; data?: unknown };
    if (event.type === 'connected') connected();
    else if (event.type === 'publication') {
      const seq = canarySeq(event.data, this.#id);
      if (seq !== undefined) this.#receive(this.transport, seq);
    }
  }

  close(): void {
    const req = this.#req;
    this.#req = undefined;
    this.#connected = false;
    req?.destroy();
  }
}
