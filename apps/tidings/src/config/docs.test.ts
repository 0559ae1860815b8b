import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docsCommand, renderConfigDocs } from './docs.js';
import { configFields } from './fields.js';

const docsFile = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));

describe('docs/configuration.md', () => {
  it('matches the config schema', () => {
    const checkedIn = readFileSync(docsFile, 'utf8');
    const generated = renderConfigDocs();
    // A plain boolean keeps the failure readable; the message says how to fix it.
    expect(
      checkedIn === generated,
      `docs/configuration.md is out of date with apps/tidings/src/config/schema.ts; run \`${docsCommand}\` and commit the result`,
    ).toBe(true);
  });

  it('lists every option with its env name and default', () => {
    const docs = renderConfigDocs();
    for (const field of configFields()) {
      expect(docs).toMatch(new RegExp(`^\\| \`${field.path.replace(/[[\].<>]/g, '\\$&')}\` +\\|`, 'm'));
      if (field.env !== undefined) expect(docs).toContain(`\`${field.env}\``);
    }
    expect(docs).toMatch(/\| `http.port` +\| `TIDINGS_HTTP_PORT` +\| integer \(0–65535\) +\| `8000` +\|/);
    expect(docs).toContain('`1048576` (1 MiB)');
  });
});
