import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the console: apps/dashboard/dist/admin, from apps/tidings/{src,dist}/admin/. */
export const adminAssetsDir = fileURLToPath(new URL('../../../dashboard/dist/admin', import.meta.url));

/** One file of the built console. */
export interface AdminAsset {
  readonly body: Buffer;
  readonly type: string;
  /** Hashed file names under assets/ never change: cache them for good. */
  readonly immutable: boolean;
}

/** URL path (`/admin/...`) → file. */
export type AdminAssets = ReadonlyMap<string, AdminAsset>;

const types: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Reads the built console into memory once, at start (a few hundred KiB). Only files present
 * at start are ever served, so no request path reaches the file system.
 * @returns undefined when the console is not built (no index.html).
 */
export function loadAdminAssets(dir: string = adminAssetsDir): AdminAssets | undefined {
  const files = new Map<string, AdminAsset>();
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const full = join(current, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const type = types[extname(name)];
        if (type === undefined) continue;
        const rel = relative(dir, full).split(sep).join('/');
        files.set(`/admin/${rel}`, { body: readFileSync(full), type, immutable: rel.startsWith('assets/') });
      }
    }
  };
  try {
    walk(dir);
  } catch {
    return undefined;
  }
  return files.has('/admin/index.html') ? files : undefined;
}
