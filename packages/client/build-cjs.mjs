// CommonJS build of @tidings/client: one esbuild bundle of the ESM output, @tidings/protocol kept external.
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
