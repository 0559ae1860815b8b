import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dashboardFile, renderDashboard } from './dashboard.js';

function bootstrapOf(html: string): unknown {
  const json = /<script id="tidings-bootstrap" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1];
  return JSON.parse(json ?? 'null');
}

describe('dashboard page', () => {
  it('is one self-contained file with no external resources', () => {
    const html = readFileSync(dashboardFile, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
  });

  it('has an inline script that parses', () => {
    const html = readFileSync(dashboardFile, 'utf8');
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(1);
    // Compiles without running: a syntax error in the page fails here rather than in a browser.
    expect(() => new Script(scripts[0] ?? '', { filename: 'dashboard.js' })).not.toThrow();
  });

  it('injects the bootstrap JSON', () => {
    const html = renderDashboard({
      websocketPath: '/ws',
      profile: 'development',
      token: 'a.b.c',
      channel: 'demo:chat',
    });
    expect(bootstrapOf(html ?? '')).toEqual({
      websocketPath: '/ws',
      profile: 'development',
      token: 'a.b.c',
      channel: 'demo:chat',
    });
  });

  it('escapes "<" so injected values cannot close the script element', () => {
    const html = renderDashboard({ websocketPath: '/</script><script>alert(1)</script>', profile: 'file' }) ?? '';
    expect(html).not.toContain('</script><script>alert(1)');
    expect(bootstrapOf(html)).toMatchObject({ websocketPath: '/</script><script>alert(1)</script>' });
  });

  it('returns undefined when the page is missing, and leaves pages without a placeholder alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-dash-'));
    expect(renderDashboard({ websocketPath: '/ws', profile: 'file' }, join(dir, 'missing.html'))).toBeUndefined();
    const plain = join(dir, 'plain.html');
    writeFileSync(plain, '<p>hi</p>');
    expect(renderDashboard({ websocketPath: '/ws', profile: 'file' }, plain)).toBe('<p>hi</p>');
  });
});
