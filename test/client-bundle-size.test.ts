// Bundle budget of @tidings/client, minified and gzipped (esbuild). The budget: the client
// core (connection, subscriptions, outbox, WebSocket transport) with a JSON codec under 12 KB.
// @tidings/protocol's jsonCodec is driven by the Protobuf descriptors (@bufbuild/protobuf), which
// put core + that codec at about 27 KB; the client's own lightJsonCodec (JSON.parse based) is the
// one that meets the budget. Codecs and transports are tree-shaken: a JSON bundle holds no
// MessagePack or Protobuf code, a WebSocket-only bundle no SSE, fetch-stream or polling code.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const budgetBytes = 12 * 1024;

async function bundle(contents: string): Promise<{ bytes: number; inputs: string[] }> {
  const out = await build({
    stdin: { contents, resolveDir: new URL('..', import.meta.url).pathname },
    alias: {
      '@tidings/client': new URL('../packages/client/src/index.ts', import.meta.url).pathname,
      '@tidings/protocol': new URL('../packages/protocol/src/index.ts', import.meta.url).pathname,
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const file = out.outputFiles[0]?.contents ?? new Uint8Array();
  const output = Object.values(out.metafile.outputs)[0];
  return { bytes: gzipSync(file).length, inputs: Object.keys(output?.inputs ?? {}) };
}

describe('@tidings/client bundle size', () => {
  it('the client core is under 12 KB min+gzip', async () => {
    const { bytes } = await bundle(
      "export { TidingsClient, webSocketTransport, MemoryOutboxStore } from '@tidings/client';\n",
    );
    console.log(`@tidings/client core: ${bytes} bytes min+gzip (budget ${budgetBytes})`);
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(budgetBytes);
  });

  it('core + lightJsonCodec is under 12 KB min+gzip and holds no Protobuf or MessagePack code', async () => {
    const { bytes, inputs } = await bundle(
      "export { TidingsClient, webSocketTransport, MemoryOutboxStore, lightJsonCodec } from '@tidings/client';\n",
    );
    console.log(`@tidings/client core + lightJsonCodec: ${bytes} bytes min+gzip (budget ${budgetBytes})`);
    expect(bytes).toBeLessThan(budgetBytes);
    expect(
      inputs.filter((i) => /msgpackr|@bufbuild|protobuf|msgpack-codec|sse-transport|poll-transport/.test(i)),
    ).toEqual([]);
  });

  it('every transport and the IndexedDB store together stay under 12 KB; msgpackCodec pulls msgpackr only when used', async () => {
    const all = await bundle(
      "export { TidingsClient, webSocketTransport, sseTransport, fetchStreamTransport, pollTransport, IndexedDbOutboxStore, LocalStorageOutboxStore, lightJsonCodec } from '@tidings/client';\n",
    );
    console.log(`@tidings/client with every transport and store: ${all.bytes} bytes min+gzip`);
    expect(all.bytes).toBeLessThan(budgetBytes);
    const msgpack = await bundle(
      "export { TidingsClient, webSocketTransport } from '@tidings/client'; export { msgpackCodec } from '@tidings/protocol';\n",
    );
    expect(msgpack.inputs.some((i) => i.includes('msgpackr'))).toBe(true);
  });
});
