import { type Disconnect, jsonCodec } from '@tidings/protocol';
import type { Session, TidingsNode, Transport } from '@tidings/server';
import { type CanaryProbe, type CanaryReceiver, canarySeq } from './probe.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Measures the node's own fan-out without a socket: an in-process session (transport `hub`, JSON)
 * logged in with the canary token, so a canary publication goes engine → hub → session writer
 * → this transport exactly as it does to every client.
 */
export class HubProbe implements CanaryProbe {
  readonly transport = 'hub';
  readonly #node: TidingsNode;
  readonly #token: string;
  readonly #id: string;
  readonly #receive: CanaryReceiver;
  /** A hook for tests: when it returns false, written frames are dropped (a broken path). */
  readonly #deliver: () => boolean;
  #session: Session | undefined;
  #connected = false;

  constructor(options: {
    node: TidingsNode;
    token: string;
    id: string;
    receive: CanaryReceiver;
    deliver?: () => boolean;
  }) {
    this.#node = options.node;
    this.#token = options.token;
    this.#id = options.id;
    this.#receive = options.receive;
    this.#deliver = options.deliver ?? (() => true);
  }

  get connected(): boolean {
    return this.#connected;
  }

  connect(): Promise<void> {
    this.close();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const onFrame = (frame: Uint8Array): void => {
        if (!this.#deliver()) return;
        for (const line of dec.decode(frame).split('\n')) {
          if (line === '') continue;
          const msg = JSON.parse(line) as {
            id?: number;
            connect?: unknown;
            error?: { message?: string };
            push?: { pub?: { data?: unknown } };
          };
          if (msg.id === 1 && !settled) {
            settled = true;
            if (msg.connect !== undefined) {
              this.#connected = true;
              resolve();
            } else reject(new Error(`canary hub connect refused: ${msg.error?.message ?? 'unknown'}`));
            continue;
          }
          const seq = canarySeq(msg.push?.pub?.data, this.#id);
          if (seq !== undefined) this.#receive(this.transport, seq);
        }
      };
      const transport: Transport = {
        name: 'hub',
        codec: jsonCodec,
        unidirectional: false,
        bufferedBytes: 0,
        write: onFrame,
        writeMany: (frames) => {
          for (const f of frames) onFrame(f);
        },
        close: (_disconnect: Disconnect) => {
          this.#connected = false;
          if (!settled) {
            settled = true;
            reject(new Error('canary hub session closed'));
          }
        },
      };
      const session = this.#node.openSession(transport, { remoteAddress: '127.0.0.1' });
      this.#session = session;
      session.handleFrame(
        enc.encode(JSON.stringify({ id: 1, connect: { token: this.#token, name: 'tidings-canary' } })),
      );
    });
  }

  close(): void {
    const session = this.#session;
    this.#session = undefined;
    this.#connected = false;
    session?.transportClosed();
  }
}
