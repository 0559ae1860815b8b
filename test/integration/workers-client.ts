// A raw `ws` client of the JSON protocol for the --workers test: it knows its local TCP port (to
// find the worker process that holds the connection), follows one channel recoverably, records
// into a ledger, and after an unexpected close reconnects and recovers from its last position.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Ledger } from '@tidings/testkit';
import WebSocket from 'ws';

interface Pub {
  data: { id: string };
  offset?: number;
}

interface SubscribeResult {
  epoch: string;
  offset?: number;
  recovered?: boolean;
  was_recovering?: boolean;
  publications?: Pub[];
}

/** One subscribe outcome as the client saw it. */
export interface SubscribeOutcome {
  readonly wasRecovering: boolean;
  readonly recovered: boolean;
  readonly offsets: number[];
}

/** The pid among `pids` holding the server side of the loopback connection from `localPort`. */
export function pidOfConnection(serverPort: number, localPort: number, pids: readonly number[]): number | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(serverPort)}`;
  const remote = `0100007F:${hex(localPort)}`;
  let inode: string | undefined;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local && cols[2] === remote) inode = cols[9];
  }
  if (inode === undefined) return undefined;
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      }
    } catch {
      // The process exited meanwhile.
    }
  }
  return undefined;
}

export class RecoveringClient {
  readonly subscribes: SubscribeOutcome[] = [];
  readonly closeCodes: number[] = [];
  reconnect = true;
  position: { epoch: string; offset: number } | undefined;
  localPort = 0;
  #ws: WebSocket | undefined;
  #nextId = 1;

  constructor(
    readonly id: string,
    readonly wsUrl: string,
    readonly token: string,
    readonly channel: string,
    readonly ledger: Ledger,
  ) {
    ledger.subscribed(id, channel);
  }

  /**
   * Connects until `accept(localPort)` says yes (other connections are closed), then subscribes,
   * recovering from the last position if there is one; resolves with the subscribe outcome.
   */
  async open(accept: (localPort: number) => boolean = () => true, attempts = 30): Promise<SubscribeOutcome> {
    for (let i = 0; i < attempts; i++) {
      const ws = new WebSocket(this.wsUrl);
      // 'open' follows 'upgrade' in the same turn, so both are awaited together.
      let port = 0;
      await new Promise<void>((resolve, reject) => {
        ws.once('upgrade', (res) => {
          port = res.socket.localPort ?? 0;
        });
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await this.#request(ws, { connect: { token: this.token } });
      if (!accept(port)) {
        ws.terminate();
        continue;
      }
      this.localPort = port;
      this.#ws = ws;
      ws.on('message', (raw: WebSocket.RawData) => this.#onFrame(ws, raw.toString()));
      ws.on('close', (code) => {
        if (this.#ws !== ws) return;
        this.closeCodes.push(code);
        if (this.reconnect) setTimeout(() => void this.open().catch(() => undefined), 100);
      });
      return this.#subscribe(ws);
    }
    throw new Error(`${this.id}: no acceptable connection in ${attempts} attempts`);
  }

  /** Closes the connection without reconnecting. */
  drop(): void {
    this.reconnect = false;
    this.#ws?.terminate();
  }

  async #subscribe(ws: WebSocket): Promise<SubscribeOutcome> {
    const p = this.position;
    const recover = p === undefined ? {} : { recover: true, epoch: p.epoch, offset: p.offset };
    const reply = await this.#request(ws, { subscribe: { channel: this.channel, recoverable: true, ...recover } });
    const res = reply.subscribe as SubscribeResult;
    const outcome = {
      wasRecovering: res.was_recovering === true,
      recovered: res.recovered === true,
      offsets: (res.publications ?? []).map((pub) => pub.offset ?? -1),
    };
    if (outcome.wasRecovering && !outcome.recovered) {
      this.ledger.discontinuity(this.id, this.channel, { epoch: res.epoch, reason: 'recovered: false' });
    }
    this.position = { epoch: res.epoch, offset: p?.epoch === res.epoch ? p.offset : 0 };
    for (const pub of res.publications ?? []) this.#record(pub);
    this.position = { epoch: res.epoch, offset: Math.max(this.position.offset, res.offset ?? 0) };
    this.subscribes.push(outcome);
    return outcome;
  }

  #record(pub: Pub): void {
    if (this.position === undefined) return;
    const offset = pub.offset ?? -1;
    this.ledger.received(this.id, this.channel, { offset, epoch: this.position.epoch, id: pub.data.id });
    if (offset > this.position.offset) this.position = { ...this.position, offset };
  }

  #onFrame(ws: WebSocket, text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const msg = JSON.parse(line) as { push?: { channel?: string; pub?: Pub } };
      if (Object.keys(msg).length === 0) ws.send('{}');
      else if (msg.push?.channel === this.channel && msg.push.pub !== undefined) this.#record(msg.push.pub);
    }
  }

  #request(ws: WebSocket, command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (raw: WebSocket.RawData) => {
        for (const line of raw.toString().split('\n')) {
          if (line === '') continue;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if (msg.id !== id) continue;
          ws.off('message', onMessage);
          if (msg.error !== undefined) reject(new Error(`${this.id}: ${JSON.stringify(msg.error)}`));
          else resolve(msg);
        }
      };
      ws.on('message', onMessage);
      ws.once('close', (code) => reject(new Error(`${this.id}: closed with ${code} before reply ${id}`)));
      ws.send(JSON.stringify({ id, ...command }));
    });
  }
}
