import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The `version` of apps/tidings/package.json (read once; src/ and dist/ sit beside it). */
export function packageVersion(): string {
  if (version === undefined) {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    version = (JSON.parse(text) as { version: string }).version;
  }
  return version;
}
