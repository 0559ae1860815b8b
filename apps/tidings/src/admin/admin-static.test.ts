import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdminAssets } from './admin-static.js';

describe('loadAdminAssets', () => {
  it('maps the built files to /admin paths with their types; hashed assets are immutable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'export {}');
    writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}');
    writeFileSync(join(dir, 'assets', 'notes.txt'), 'not served');
    const assets = loadAdminAssets(dir);
    expect([...(assets?.keys() ?? [])].sort()).toEqual([
      '/admin/assets/index-abc123.css',
      '/admin/assets/index-abc123.js',
      '/admin/index.html',
    ]);
    expect(assets?.get('/admin/index.html')).toMatchObject({ type: 'text/html; charset=utf-8', immutable: false });
    expect(assets?.get('/admin/assets/index-abc123.js')).toMatchObject({
      type: 'text/javascript; charset=utf-8',
      immutable: true,
    });
  });

  it('is undefined when the console is not built', () => {
    expect(loadAdminAssets(join(tmpdir(), 'no-such-admin-build'))).toBeUndefined();
    const empty = mkdtempSync(join(tmpdir(), 'admin-static-'));
    writeFileSync(join(empty, 'app.js'), '');
    expect(loadAdminAssets(empty)).toBeUndefined();
  });
});
