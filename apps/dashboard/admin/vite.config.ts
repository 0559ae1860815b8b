import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The admin console: preact + uPlot, built to apps/dashboard/dist/admin, which `tidings serve`
// reads at start and serves at /admin. Everything is bundled: the page needs no CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/admin', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline module-preload polyfill: the page's CSP allows only its own script files.
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
