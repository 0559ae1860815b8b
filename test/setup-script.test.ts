// scripts/setup.sh (`sudo npm run setup`, also the first step of .ci/run) on a prepared machine:
// it finds every tool and service in place, installs nothing and exits 0. On a machine that
// lacks something, this test fails with the script's own message naming what to install.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('scripts/setup.sh', () => {
  it('is idempotent: a second run installs and starts nothing', { timeout: 120_000 }, () => {
    const run = spawnSync('bash', ['scripts/setup.sh'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).not.toContain('installing:');
    expect(run.stdout).not.toMatch(/^starting /m);
    expect(run.stdout).toContain('redis, nats, mosquitto, postgresql, rabbitmq and mariadb are up');
  });

  it('is what .ci/run and npm run setup both call', () => {
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    expect(ci.split('\n').filter((line) => line === 'bash scripts/setup.sh')).toHaveLength(1);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.setup).toBe('bash scripts/setup.sh');
  });
});
