// Bundle budget of @tidings/client, minified and gzipped. The client core (connection, subscriptions,
// outbox, WebSocket transport) must stay under 12 KB. The budget counts the JSON codec too;
// @tidings/protocol's jsonCodec is driven by the Protobuf descriptors (@bufbuild/protobuf), which
// put core + JSON at about 27 KB: that part of the budget is not met yet (see docs/client.md).
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const budgetBytes = 12 * 1024;

describe('@tidings/client bundle size', () => {
  it('the client core is under 12 KB min+gzip', async () => {
    const out = await build({
      stdin: {
        contents: "export { TidingsClient, webSocketTransport, MemoryOutboxStore } from '@tidings/client';\n",
        resolveDir: new URL('..', import.meta.url).pathname,
      },
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
      logLevel: 'silent',
    });
    const bytes = gzipSync(out.outputFiles[0]?.contents ?? new Uint8Array()).length;
    console.log(`@tidings/client core: ${bytes} bytes min+gzip (budget ${budgetBytes})`);
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(budgetBytes);
  });
});
