// deploy/grafana: the alert rules pass `promtool check rules` and their own `promtool test rules`,
// and every metric the dashboard and the rules query is one a real server exports.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const dir = 'deploy/grafana';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        metrics: { enabled: true },
        // The canary's metrics exist only while it runs.
        canary: { enabled: true },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server.close();
});

function promtool(...args: string[]): string {
  const run = spawnSync(requireTool('promtool', 'prometheus'), args, { encoding: 'utf8' });
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  return run.stdout;
}

it('alert rules pass promtool check and their unit tests', () => {
  expect(promtool('check', 'rules', `${dir}/tidings-alerts.yml`)).toContain('SUCCESS: 6 rules found');
  expect(promtool('test', 'rules', `${dir}/tidings-alerts.test.yml`)).toContain('SUCCESS');
});

it('the dashboard and the rules only query metrics the server exports', async () => {
  const dashboard = JSON.parse(readFileSync(`${dir}/tidings-dashboard.json`, 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  exprs.push(readFileSync(`${dir}/tidings-alerts.yml`, 'utf8'));
  const used = new Set(exprs.flatMap((e) => e.match(/\b(?:tidings|nodejs|process)_[a-z0-9_]+/g) ?? []));
  expect(used.size).toBeGreaterThan(10);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const exported = new Set(
    text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .flatMap((l) => {
        const [, , name = '', type] = l.split(' ');
        return type === 'histogram' ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      }),
  );
  expect([...used].filter((m) => !exported.has(m))).toEqual([]);
});
