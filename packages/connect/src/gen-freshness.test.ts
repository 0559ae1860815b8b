import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const buf = fileURLToPath(new URL('../../../node_modules/.bin/buf', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'tidings-connect-gen-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every file under `dir`, as paths relative to it. */
function files(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else found.push(relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

describe('generated code', () => {
  it('matches what buf generate makes from proto/ now (run `npm run gen -w @tidings/connect`)', () => {
    execFileSync(buf, ['generate', '-o', out], { cwd: pkg, stdio: 'pipe', timeout: 120_000 });
    const fresh = join(out, 'src/gen');
    const committed = join(pkg, 'src/gen');
    expect(files(fresh)).toEqual(files(committed));
    for (const f of files(committed)) {
      expect(readFileSync(join(fresh, f), 'utf8'), f).toBe(readFileSync(join(committed, f), 'utf8'));
    }
  }, 180_000);
});
