import WebSocket from 'ws';
import { type CanaryProbe, type CanaryReceiver, canarySeq } from './probe.js';

/**
 * Measures delivery over a real WebSocket to this server's own port (Centrifuge JSON protocol):
 * connects with the canary token, answers pings, and reports each canary push it reads.
 */
export class WebSocketProbe implements CanaryProbe {
  readonly transport = 'websocket';
  readonly #url: string;
  readonly #token: string;
  readonly #id: string;
  readonly #receive: CanaryReceiver;
  #ws: WebSocket | undefined;
  #connected = false;

  constructor(options: { url: string; token: string; id: string; receive: CanaryReceiver }) {
    this.#url = options.url;
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
      // The server's certificate need not name the loopback address the canary dials.
      const ws = new WebSocket(this.#url, { rejectUnauthorized: false, handshakeTimeout: 5_000 });
      this.#ws = ws;
      let settled = false;
      const fail = (error: Error): void => {
        if (this.#ws === ws) this.#connected = false;
        if (!settled) {
          settled = true;
          reject(error);
        }
      };
      ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: { token: this.#token, name: 'tidings-canary' } })));
      ws.on('message', (raw: Buffer) => {
        for (const line of raw.toString('utf8').split('\n')) {
          if (line === '') continue;
          const msg = JSON.parse(line) as {
            id?: number;
            connect?: unknown;
            error?: { message?: string };
            push?: { pub?: { data?: unknown } };
          };
          if (msg.id === undefined && msg.push === undefined) {
            ws.send('{}'); // ping → pong
            continue;
          }
          if (msg.id === 1 && !settled) {
            if (msg.connect === undefined) {
              fail(new Error(`canary websocket connect refused: ${msg.error?.message ?? 'unknown'}`));
              continue;
            }
            settled = true;
            this.#connected = true;
            resolve();
            continue;
          }
          const seq = canarySeq(msg.push?.pub?.data, this.#id);
          if (seq !== undefined) this.#receive(this.transport, seq);
        }
      });
      ws.on('error', (error) => fail(error));
      ws.on('close', (code) => fail(new Error(`canary websocket closed (${code})`)));
    });
  }

  close(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#connected = false;
    ws?.terminate();
  }
}
