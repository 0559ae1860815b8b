import { readFileSync } from 'node:fs';
import { DisconnectCode, ErrorCode, TidingsErrorCode, UnsubscribeCode } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { AdminErrorCode } from '../apps/tidings/src/admin/admin-errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** First-column values of the table under `heading` in docs/errors.md. */
function tableCodes(heading: string): string[] {
  const start = doc.indexOf(`## ${heading}`);
  expect(start, `docs/errors.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const next = doc.indexOf('\n## ', start + 3);
  const section = doc.slice(start, next === -1 ? undefined : next);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.split('|')[1]!.trim())
    .filter((cell) => cell !== 'code' && !/^:?-+:?$/.test(cell));
}

describe('docs/errors.md', () => {
  it.each([
    ['Reply error codes', Object.values(ErrorCode).map(String)],
    ['Disconnect codes', Object.values(DisconnectCode).map(String)],
    ['Unsubscribe codes', Object.values(UnsubscribeCode).map(String)],
    ['Library and configuration errors', Object.values(TidingsErrorCode)],
    ['Admin console errors', Object.values(AdminErrorCode).map((c) => `\`${c}\``)],
  ])('lists exactly the codes of %s', (heading, codes) => {
    expect(tableCodes(heading).sort()).toEqual([...codes].sort());
  });
});
