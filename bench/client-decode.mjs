#!/usr/bin/env node
// Decode + dispatch cost per publication in the client SDK: @tidings/client against the public
// `centrifuge` SDK (5.x), side by side in one run, JSON protocol. No network: each SDK gets a fake
// WebSocket that answers connect and subscribe, then receives the same frames (50 publication
// pushes per frame, newline-delimited, as the server batches them) until its `publication`
// handler has seen every one. The figure is publications per second at the handler, and the
// ratio of the two. Rounds alternate between the SDKs so neither gets a warmer process.
//
// Usage: npm run build && node bench/client-decode.mjs [--quick]
import { performance } from 'node:perf_hooks';
import { lightJsonCodec, TidingsClient, webSocketTransport } from '@tidings/client';
import { jsonCodec } from '@tidings/protocol';
import { Centrifuge } from 'centrifuge';

const quick = process.argv.includes('--quick');
const total = quick ? 50_000 : 300_000;
const perFrame = 50;
const rounds = quick ? 3 : 7;
const channel = 'bench:ticker';
const payload = (n) => `{"symbol":"AAPL","price":${(100 + (n % 1000) / 100).toFixed(2)},"n":${n}}`;

/** Frames of `perFrame` publication pushes with offsets 1..total, prebuilt once for both SDKs. */
const frames = [];
for (let first = 1; first <= total; first += perFrame) {
  const lines = [];
  for (let o = first; o < first + perFrame && o <= total; o++) {
    lines.push(`{"push":{"channel":"${channel}","pub":{"data":${payload(o)},"offset":${o}}}}`);
  }
  frames.push(lines.join('\n'));
}

/** A WebSocket that answers connect and subscribe itself and lets the bench push frames. */
function fakeWebSocket(onReady) {
  return class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocol = typeof protocols === 'string' ? protocols : '';
      this.readyState = 0;
      this.binaryType = 'blob';
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }
    send(data) {
      for (const line of String(data).split('\n')) {
        if (line === '') continue;
        const cmd = JSON.parse(line);
        if (cmd.connect !== undefined) this.#reply({ id: cmd.id, connect: { client: 'bench', version: '0' } });
        else if (cmd.subscribe !== undefined) {
          this.#reply({
            id: cmd.id,
            subscribe: { recoverable: true, positioned: true, epoch: 'e', offset: 0 },
          });
          setTimeout(() => onReady(this), 0);
        }
      }
    }
    #reply(obj) {
      setTimeout(() => this.onmessage?.({ data: JSON.stringify(obj) }), 0);
    }
    close() {
      this.readyState = 3;
    }
  };
}

/** Runs one SDK once; resolves with publications per second at its handler. */
function runOnce(kind) {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let started = 0;
    let client;
    const onPublication = () => {
      if (++seen === total) {
        const ms = performance.now() - started;
        client.disconnect();
        resolve((total / ms) * 1000);
      }
    };
    const ready = (ws) => {
      started = performance.now();
      for (const data of frames) ws.onmessage?.({ data });
    };
    const WebSocket = fakeWebSocket(ready);
    if (kind !== 'centrifuge') {
      const codec = kind === 'tidings-light' ? lightJsonCodec : jsonCodec;
      client = new TidingsClient({
        transports: [webSocketTransport({ url: 'ws://bench/connection/websocket', codec, WebSocket })],
      });
      client.subscribe(channel).on('publication', onPublication);
      client.connect();
    } else {
      client = new Centrifuge('ws://bench/connection/websocket', { websocket: WebSocket });
      const sub = client.newSubscription(channel);
      sub.on('publication', onPublication);
      sub.subscribe();
      client.connect();
    }
    setTimeout(() => reject(new Error(`${kind}: saw ${seen} of ${total} publications`)), 120_000).unref();
  });
}

const kinds = ['tidings-light', 'tidings-json', 'centrifuge'];
const results = Object.fromEntries(kinds.map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  // Rotate the order every round.
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[(i + r) % kinds.length];
    results[kind].push(await runOnce(kind));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US');
const light = median(results['tidings-light']);
const full = median(results['tidings-json']);
const c = median(results.centrifuge);
console.log(`publications: ${total} per round, ${perFrame} per frame, ${rounds} rounds (median), JSON`);
console.log(`@tidings/client + lightJsonCodec : ${fmt(light)} publications/s at the handler`);
console.log(`@tidings/client + jsonCodec      : ${fmt(full)} publications/s at the handler`);
console.log(`centrifuge 5.x                   : ${fmt(c)} publications/s at the handler`);
console.log(`ratio lightJsonCodec/centrifuge: ${(light / c).toFixed(2)}`);
console.log(`ratio jsonCodec/centrifuge: ${(full / c).toFixed(2)}`);
