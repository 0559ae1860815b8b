import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG_FILES = ['.dependency-cruiser.cjs', 'tsconfig.depcruise.json', 'tsconfig.base.json'];

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs the checker the way `npm run lint:deps` does, in `cwd`, and returns its violations. */
function cruise(cwd: string, dirs: string[]): Violation[] {
  const run = spawnSync(
    process.execPath,
    [bin, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...dirs],
    { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  expect(run.stdout, run.stderr).not.toBe('');
  const result = JSON.parse(run.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(result.summary.totalCruised).toBeGreaterThan(0);
  return result.summary.violations;
}

describe('layering (DESIGN.md §3 dependency direction)', () => {
  it('the real tree has no violations', () => {
    const violations = cruise(root, ['packages', 'apps']);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  }, 60_000);

  describe('the rules bite on a fixture tree', () => {
    let dir: string;
    let found: string[];

    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tidings-layering-'));
      for (const f of CONFIG_FILES) copyFileSync(join(root, f), join(dir, f));
      const s = 'packages/server/src';
      write('packages/protocol/src/index.ts', "export * from './codes.js';\n");
      write(
        'packages/protocol/src/codes.ts',
        "import { createHash } from 'node:crypto';\nexport const h = createHash;\n",
      );
      write('packages/protocol/src/leak.ts', "import { x } from '@tidings/server';\nexport const y = x;\n");
      write(`${s}/index.ts`, 'export const x = 1;\n');
      write(`${s}/broker/types.ts`, 'export interface Broker { name: string }\n');
      write(
        `${s}/broker/memory/index.ts`,
        "import type { Broker } from '../types.js';\nexport const b: Broker = { name: 'm' };\n",
      );
      write(`${s}/broker/memory/uses-core.ts`, "import { n } from '../../core/node.js';\nexport const u = n;\n");
      write(`${s}/internal/clock.ts`, 'export const now = () => 0;\n');
      write(
        `${s}/core/node.ts`,
        "import { now } from '../internal/clock.js';\nimport type { Broker } from '../broker/types.js';\n" +
          'export const n = (b: Broker) => now() + b.name.length;\n',
      );
      write(`${s}/core/concrete.ts`, "import { b } from '../broker/memory/index.js';\nexport const c = b;\n");
      write(`${s}/core/reads-files.ts`, "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n");
      // a runtime cycle, and a cycle broken by `import type` (allowed)
      write(`${s}/core/cycle-a.ts`, "import { b2 } from './cycle-b.js';\nexport const a2 = () => b2;\n");
      write(`${s}/core/cycle-b.ts`, "import { a2 } from './cycle-a.js';\nexport const b2 = () => a2;\n");
      write(`${s}/core/session.ts`, "import type { Subs } from './subs.js';\nexport class Session { s?: Subs }\n");
      write(`${s}/core/subs.ts`, "import { Session } from './session.js';\nexport class Subs { s = new Session() }\n");
      write(`${s}/transport/types.ts`, 'export interface Transport { name: string }\n');
      write(`${s}/transport/websocket/edge.ts`, "import { n } from '../../core/node.js';\nexport const e = n;\n");
      write(`${s}/transport/sse/handler.ts`, "import { e } from '../websocket/edge.js';\nexport const h = e;\n");
      write(`${s}/transport/sse/framer.ts`, "import { f } from '../one-way/framer.js';\nexport const g = f;\n");
      write(`${s}/transport/one-way/framer.ts`, 'export const f = 1;\n');
      write(`${s}/transport/sse/engine.ts`, "import { b } from '../../broker/memory/index.js';\nexport const x = b;\n");
      found = cruise(dir, ['packages']).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    }, 60_000);

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each([
      ['protocol-imports-nothing', 'packages/protocol/src/codes.ts -> crypto'],
      ['protocol-imports-nothing', 'packages/protocol/src/leak.ts -> packages/server/src/index.ts'],
      ['core-imports-only-contracts', 'core/concrete.ts -> packages/server/src/broker/memory/index.ts'],
      ['no-fs-in-library-layers', 'core/reads-files.ts -> fs'],
      ['no-circular', 'core/cycle-a.ts -> packages/server/src/core/cycle-b.ts'],
      ['transports-not-each-other', 'transport/sse/handler.ts -> packages/server/src/transport/websocket/edge.ts'],
      ['transports-not-brokers', 'transport/sse/engine.ts -> packages/server/src/broker/memory/index.ts'],
      ['brokers-not-core', 'broker/memory/uses-core.ts -> packages/server/src/core/node.ts'],
    ])('%s flags %s', (rule, edge) => {
      expect(found.some((v) => v.startsWith(`${rule}: `) && v.endsWith(edge))).toBe(true);
    });

    it('allows contracts, one-way helpers, same-layer imports and type-only cycles', () => {
      const allowed = [
        'core/node.ts',
        'core/session.ts',
        'core/subs.ts',
        'transport/sse/framer.ts',
        'websocket/edge.ts',
      ];
      expect(found.filter((v) => allowed.some((a) => v.includes(`src/${a} ->`)))).toEqual([]);
      expect(found.filter((v) => v.includes('broker/memory/index.ts -> packages/server/src/broker/types.ts'))).toEqual(
        [],
      );
    });
  });
});
