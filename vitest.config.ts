import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages from source, so `vitest` needs no build; integration tests
// that spawn the CLI use the build that `npm test` makes first.
const alias = {
  '@tidings/protocol': src('./packages/protocol/src/index.ts'),
  '@tidings/server': src('./packages/server/src/index.ts'),
  '@tidings/testkit': src('./packages/testkit/src/index.ts'),
  '@tidings/redis': src('./packages/redis/src/index.ts'),
  '@tidings/nats': src('./packages/nats/src/index.ts'),
  '@tidings/mqtt': src('./packages/mqtt/src/index.ts'),
  '@tidings/ingest': src('./packages/ingest/src/index.ts'),
  '@tidings/client': src('./packages/client/src/index.ts'),
  '@tidings/connect': src('./packages/connect/src/index.ts'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/*.test.ts'],
          // Property tests run hundreds of cases; a loaded 2-core machine needs more than 5 s.
          testTimeout: 20_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
