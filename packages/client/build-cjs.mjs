// CommonJS build of @tidings/client: one esbuild bundle of the ESM output, @tidings/protocol kept external.
// Also a browser ESM bundle with everything inside (dist/browser/tidings-client.js), which the
// development profile of `tidings serve` serves to examples/live-ticker.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./dist/index.js', import.meta.url).pathname],
  outfile: new URL('./dist/cjs/index.cjs', import.meta.url).pathname,
  bundle: true,
  format: 'cjs',
  platform: 'neutral',
  target: 'es2022',
  external: ['@tidings/protocol'],
  logLevel: 'warning',
});

await build({
  entryPoints: [new URL('./dist/index.js', import.meta.url).pathname],
  outfile: new URL('./dist/browser/tidings-client.js', import.meta.url).pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
