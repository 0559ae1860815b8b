// Why `tidings bench` could not reach the server: one plain TCP connection to the --url (or the
// API URL) before the run, so a dead address fails at once with its cause instead of a run of
// connect errors, and the check after a run in which no subscriber connected.
import { connect } from 'node:net';
import { CliError } from '../cli-error.js';

function hostAndPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: u.port === '' ? (secure ? 443 : 80) : Number(u.port) };
}

/**
 * Opens and closes one TCP connection to the host and port of `url`.
 *
 * @returns undefined when it connected, else the cause as `ECONNREFUSED 127.0.0.1:9`
 *   (`ETIMEDOUT host:port` when nothing answered within `timeoutMs`).
 */
export function tcpProbe(url: string, timeoutMs = 5_000): Promise<string | undefined> {
  const { host, port } = hostAndPort(url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`ETIMEDOUT ${host}:${port}`);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`${error.code ?? error.message} ${host}:${port}`);
    });
  });
}

/**
 * Fails before the run when the server's address does not accept a TCP connection.
 *
 * @param who `subscriber` (the --url of the subscribers) or `publisher` (the HTTP API URL).
 * @throws CliError `no subscriber could connect: ECONNREFUSED 127.0.0.1:9 — is the server running?`
 */
export async function assertReachable(url: string, who: 'subscriber' | 'publisher'): Promise<void> {
  const cause = await tcpProbe(url);
  if (cause === undefined) return;
  throw new CliError(
    `no ${who} could connect: ${cause} — is the server running?`,
    `Start it (tidings serve) or point ${who === 'subscriber' ? '--url' : '--api-url'} at it; ${url} was tried.`,
  );
}

/**
 * Fails after a run in which every subscriber failed although the address accepted TCP: the
 * server refused the WebSocket/stream or the subscription.
 *
 * @throws CliError naming the attempts and what to check.
 */
export function assertSomeoneConnected(connected: number, attempts: number, url: string): void {
  if (connected > 0 || attempts === 0) return;
  throw new CliError(
    `no subscriber could connect: all ${attempts} attempts at ${url} failed although the address accepts TCP`,
    'Check --transport (it must match the endpoint of --url), the --url path and --token.',
  );
}
