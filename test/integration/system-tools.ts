// The system tools integration tests call. A test whose tool is missing fails (never skips) with
// the command that installs it: `sudo npm run setup` (scripts/setup.sh, which .ci/run runs too)
// installs every one of them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The one command that prepares a machine for the tests. */
export const setupCommand = 'sudo npm run setup';

function missing(what: string, debianPackage: string): Error {
  return new Error(
    `${what} is not installed: run \`${setupCommand}\` once (it installs every tool the tests use), ` +
      `or: sudo apt-get install -y ${debianPackage}`,
  );
}

/**
 * The path to run `command` by: itself when it is on PATH, else Debian's `/usr/sbin` or
 * `/usr/bin` copy (a non-root PATH may lack /usr/sbin).
 *
 * @throws Error naming `sudo npm run setup` and the Debian package when it is nowhere.
 */
export function requireTool(command: string, debianPackage: string): string {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return command;
  for (const dir of ['/usr/sbin', '/usr/bin']) if (existsSync(`${dir}/${command}`)) return `${dir}/${command}`;
  throw missing(command, debianPackage);
}

/**
 * Checks that a file a tool needs exists (a browser binary, an nginx module).
 *
 * @throws Error naming `sudo npm run setup` and the Debian package when it is missing.
 */
export function requireFile(path: string, debianPackage: string): string {
  if (!existsSync(path)) throw missing(path, debianPackage);
  return path;
}
