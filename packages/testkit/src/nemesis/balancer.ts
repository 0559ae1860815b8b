import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A round-robin TCP load balancer in front of the nodes, as nginx or HAProxy would stand there:
 * each new connection goes to the next backend that `healthy` names and that accepts the
 * connection; open connections live and die with their backend. Written by hand because it
 * must consult the supervisor's view of which node is up (a health check) and nothing else.
 */
export class Balancer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #backends: () => readonly number[];
  #next = 0;
  port = 0;
  /** Connections routed so far. */
  routed = 0;

  constructor(backends: () => readonly number[]) {
    this.#backends = backends;
    this.#server = createServer((client) => this.#route(client, 0));
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  #route(client: Socket, attempt: number): void {
    const backends = this.#backends();
    if (backends.length === 0 || attempt >= backends.length) {
      client.destroy();
      return;
    }
    const port = backends[this.#next++ % backends.length] as number;
    client.pause();
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.routed++;
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    upstream.on('error', () => {
      if (!connected) this.#route(client, attempt + 1);
      else end();
    });
    upstream.on('close', () => connected && end());
    client.on('error', end).on('close', () => connected && end());
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server.close(r));
  }
}
