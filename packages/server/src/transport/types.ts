import type { Codec, Disconnect } from '@tidings/protocol';
import type { EncodedPush } from '../core/encoded-push.js';

/**
 * Moves frames between a session and a peer. No protocol logic lives here.
 *
 * Contract: `write` sends one transport message (for WebSocket one frame) holding one or more
 * encoded units joined by the codec; frames are sent in call order. `close` sends the disconnect
 * (WebSocket close code and reason, or a final push on one-way transports) and then closes;
 * writes after `close` are ignored. The transport tells its session that the peer went away by
 * calling `Session.transportClosed()` exactly once.
 */
export interface Transport {
  /** Short name for logs and metrics, e.g. "websocket". */
  readonly name: string;
  readonly codec: Codec;
  /** One-way transports (SSE, HTTP streams) get connect/disconnect as pushes. */
  readonly unidirectional: boolean;
  /** Bytes handed to the transport and not yet flushed to the kernel (slow-consumer detection). */
  readonly bufferedBytes: number;
  /**
   * Set by bidirectional emulation transports (HTTP stream / SSE + POST): the secret id the
   * client sends back with every emulation POST. The session puts it and the node id in its
   * connect result (`session`, `node`), as the centrifuge SDKs expect.
   */
  readonly emulationSession?: string;
  write(frame: Uint8Array): void;
  /**
   * Optional fast path: send one shared push as one transport message, exactly as
   * `write(encoded.unitFor(codec))` would, but free to write a message prebuilt once per
   * publication (`encoded.frameFor`). Same ordering as `write`; the session calls it only when
   * that push is the whole batch of this turn.
   */
  writeShared?(encoded: EncodedPush): void;
  /**
   * Optional fast path for a batch of several shared pushes (a busy turn): the same bytes, in
   * the same order, as `write(codec.join(units))` would send. Must not keep `batch`.
   */
  writeSharedMany?(batch: readonly EncodedPush[]): void;
  writeMany(frames: readonly Uint8Array[]): void;
  /**
   * Optional: whether an earlier write is still queued inside the process (handed to the socket,
   * not yet to the kernel). When it is, the transport calls `resumer.resume()` exactly once after
   * those bytes have left and returns true; otherwise it returns false and calls nothing. The
   * writer then holds new units meanwhile, so that every push leaving in one socket write is in
   * one frame: SDKs dispatch a frame as a unit, but several frames read in one turn may be
   * dispatched concurrently (centrifuge-js before 5.8 over `ws`), which reorders publications.
   */
  holdWhileWriting?(resumer: WriteResumer): boolean;
  close(disconnect: Disconnect): void;
}

/** Told by a transport that the bytes it was still writing have left the process. */
export interface WriteResumer {
  resume(): void;
}

/** What the edge knows about the peer when it opens a session. */
export interface SessionContext {
  readonly remoteAddress?: string;
  readonly headers?: import('node:http').IncomingHttpHeaders;
  /**
   * Updates a second the peer asked for on every subscription of the session (one-way
   * `?maxRate=`), within each namespace's `maxRate` cap.
   */
  readonly maxRate?: number;
  /** One-way `?delta=merge-patch`: state documents as RFC 7396 patches against the last one sent per key. */
  readonly delta?: 'merge-patch';
}
