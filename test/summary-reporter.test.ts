// The closing line CI reads (`N passed, N failed`) must never say 0 failed when vitest exits
// non-zero. Each case runs vitest in a child process on one fixture of test/fixtures/reporter
// (named `*.fixture.ts`, so the normal suite never picks them up) and checks both.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitestBin = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const fixtureConfig = 'test/fixtures/reporter/vitest.config.ts';

interface Run {
  readonly code: number | null;
  readonly closing: string;
  readonly output: string;
}

function runFixture(name: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [vitestBin, 'run', '--config', fixtureConfig, `${name}.fixture.ts`], {
      cwd: root,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    proc.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const lines = output.trimEnd().split('\n');
      resolve({ code, closing: lines[lines.length - 1] ?? '', output });
    });
  });
}

const timeout = 120_000;

describe('summary reporter closing line', () => {
  it('counts a failed test once', { timeout }, async () => {
    const run = await runFixture('failing-test');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('1 passed, 1 failed');
  });

  it('counts a failing beforeAll as a failure, not as skipped tests', { timeout }, async () => {
    const run = await runFixture('before-all');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('1 passed, 1 failed, 2 skipped');
  });

  it('counts a failing afterAll', { timeout }, async () => {
    const run = await runFixture('after-all');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('1 passed, 1 failed');
  });

  it('counts an unhandled rejection', { timeout }, async () => {
    const run = await runFixture('unhandled');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('1 passed, 1 failed');
  });

  it('counts a module that fails while it is collected', { timeout }, async () => {
    const run = await runFixture('collection');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('0 passed, 1 failed');
  });

  it('says failed when vitest fails the run for finding no test file', { timeout }, async () => {
    const run = await runFixture('no-such');
    expect(run.code, run.output).toBe(1);
    expect(run.closing).toBe('0 passed, 1 failed');
  });

  it('says 0 failed with exit status 0 on a passing run', { timeout }, async () => {
    const run = await runFixture('passing');
    expect(run.code, run.output).toBe(0);
    expect(run.closing).toBe('2 passed, 0 failed, 1 skipped');
  });
});
