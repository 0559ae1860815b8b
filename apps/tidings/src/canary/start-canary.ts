import { randomUUID } from 'node:crypto';
import { canaryChannel, type Logger, type TidingsNode } from '@tidings/server';
import { Registry } from 'prom-client';
import type { TidingsConfig } from '../config/schema.js';
import { Canary } from './canary.js';
import { CanaryLogin } from './canary-login.js';
import { HubProbe } from './hub-probe.js';
import type { CanaryProbe } from './probe.js';
import { StreamProbe } from './stream-probe.js';
import { WebSocketProbe } from './websocket-probe.js';

/** The canary's identity, made before the node (the node's authenticator must know its token). */
export interface CanaryIdentity {
  readonly id: string;
  readonly channel: string;
  readonly login: CanaryLogin;
}

/**
 * A canary identity when `canary.enabled`, else undefined. `secret` is shared by the workers of
 * `--workers`; a single server makes its own.
 */
export function createCanaryIdentity(config: TidingsConfig['canary'], secret?: string): CanaryIdentity | undefined {
  if (!config.enabled) return undefined;
  const id = randomUUID();
  return { id, channel: canaryChannel(id), login: new CanaryLogin(secret) };
}

/** Options of `startCanary`. */
export interface StartCanaryOptions {
  readonly config: TidingsConfig;
  readonly identity: CanaryIdentity;
  readonly node: TidingsNode;
  /** Base URL of this server's main listener. */
  readonly url: string;
  /** The Prometheus registry to export into; undefined when metrics are off (nothing is exported). */
  readonly registry: Registry | undefined;
  readonly logger: Logger;
}

/**
 * Starts the canary over the hub and every enabled streaming transport of this server: `hub`
 * (in-process session), `websocket`, `sse` (`sse.enabled`) and `http_stream`
 * (`httpStream.enabled`). Polling and MQTT are not probed.
 */
export async function startCanary(options: StartCanaryOptions): Promise<Canary> {
  const { config, identity, node } = options;
  const receive = (transport: string, seq: number): void => canary.received(transport, seq);
  const id = identity.id;
  const token = identity.login.token(id);
  const probes: CanaryProbe[] = [
    new HubProbe({ node, token, id, receive }),
    new WebSocketProbe({ url: `${options.url.replace(/^http/, 'ws')}${config.websocket.path}`, token, id, receive }),
  ];
  if (config.sse.enabled) {
    probes.push(new StreamProbe({ transport: 'sse', url: `${options.url}${config.sse.path}`, token, id, receive }));
  }
  if (config.httpStream.enabled) {
    probes.push(
      new StreamProbe({ transport: 'http_stream', url: `${options.url}${config.httpStream.path}`, token, id, receive }),
    );
  }
  const canary: Canary = new Canary({
    id,
    publish: (data) => node.publish(identity.channel, data, { source: 'canary', skipHistory: true }),
    probes,
    intervalMs: config.canary.intervalMs,
    timeoutMs: config.canary.timeoutMs,
    registry: options.registry ?? new Registry(),
    logger: options.logger,
  });
  await canary.start();
  return canary;
}
