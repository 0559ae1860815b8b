/** States of a client connection. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'closed';

/** Inputs that move the connection. */
export type ConnectionInput =
  | 'connect'
  | 'transport_open'
  | 'connected'
  | 'transport_lost'
  | 'retry'
  | 'disconnect'
  | 'terminal';

/**
 * Why a transition happened, carried on every state event.
 * - `connect_called` / `disconnect_called`: the application asked.
 * - `transport_closed`: the socket or stream ended; a reconnect is scheduled.
 * - `server_disconnect`: the server sent a reconnectable disconnect code.
 * - `terminal_code`: a terminal disconnect code (3500–3999, 4500–4999); no reconnect.
 * - `token_error`: getToken() failed with a terminal error (unauthorized).
 * - `connect_reply`: the server accepted the connect command.
 * - `backoff_elapsed`: a scheduled reconnect fires.
 * - `transport_failed`: the transport could not open; the next one in the fallback order is tried.
 */
export type ConnectionReason =
  | 'connect_called'
  | 'disconnect_called'
  | 'transport_closed'
  | 'transport_failed'
  | 'server_disconnect'
  | 'terminal_code'
  | 'token_error'
  | 'connect_reply'
  | 'backoff_elapsed';

/**
 * The connection's transition table: `table[state][input]` is the next state, absent means the
 * input is ignored in that state (for example a late `transport_lost` after `disconnect`).
 * Pure data: the client performs side effects after a transition, never inside it.
 */
export const connectionTable: Readonly<
  Record<ConnectionState, Partial<Readonly<Record<ConnectionInput, ConnectionState>>>>
> = {
  disconnected: { connect: 'connecting', retry: 'connecting', terminal: 'closed', disconnect: 'disconnected' },
  connecting: {
    transport_open: 'connecting',
    connected: 'connected',
    transport_lost: 'disconnected',
    disconnect: 'disconnected',
    terminal: 'closed',
  },
  connected: { transport_lost: 'disconnected', disconnect: 'disconnected', terminal: 'closed' },
  closed: { connect: 'connecting' },
};

/** The next state, or `undefined` when the table ignores `input` in `state`. */
export function nextConnectionState(state: ConnectionState, input: ConnectionInput): ConnectionState | undefined {
  return connectionTable[state][input];
}
