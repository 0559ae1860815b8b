import { describe, expect, it } from 'vitest';
import { requireFile, requireTool, setupCommand } from './system-tools.js';

describe('system tools the tests need', () => {
  it('finds a tool on PATH or under /usr/sbin', () => {
    expect(requireTool('sh', 'dash')).toBe('sh');
    expect(requireFile('/bin/sh', 'dash')).toBe('/bin/sh');
  });

  it('fails for a missing tool with the setup command and the Debian package', () => {
    expect(() => requireTool('tidings-no-such-tool', 'tidings-pkg')).toThrow(
      'tidings-no-such-tool is not installed: run `sudo npm run setup` once (it installs every tool the tests use), or: sudo apt-get install -y tidings-pkg',
    );
    expect(() => requireFile('/nonexistent/tidings-module.so', 'libnginx-mod-nchan')).toThrow(
      `/nonexistent/tidings-module.so is not installed: run \`${setupCommand}\``,
    );
  });
});
