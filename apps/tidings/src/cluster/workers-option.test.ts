import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { toWorkerCount } from '../config/to-library.js';

describe('the workers option', () => {
  it('defaults to one process', () => {
    expect(toWorkerCount(loadConfig({}).workers)).toBe(1);
  });

  it('reads a count or "auto" from TIDINGS_WORKERS and --workers, the flag winning', () => {
    expect(loadConfig({ env: { TIDINGS_WORKERS: '3' } }).workers).toBe(3);
    expect(loadConfig({ env: { TIDINGS_WORKERS: 'auto' } }).workers).toBe('auto');
    const flags = [{ path: 'workers', value: '2', source: '--workers' }];
    expect(loadConfig({ env: { TIDINGS_WORKERS: 'auto' }, flags }).workers).toBe(2);
  });

  it('rejects 0 and other words with the option path', () => {
    expect(() => loadConfig({ env: { TIDINGS_WORKERS: '0' } })).toThrow(/workers/);
    expect(() => loadConfig({ flags: [{ path: 'workers', value: 'many', source: '--workers' }] })).toThrow(/workers/);
  });

  it('turns "auto" into one process per core, at least one', () => {
    expect(toWorkerCount('auto', 4)).toBe(4);
    expect(toWorkerCount('auto', 0)).toBe(1);
    expect(toWorkerCount(3, 4)).toBe(3);
  });
});
