// The breaking-change check of the Protobuf API (docs/versioning.md): `buf breaking` compares
// packages/connect/proto with the checked-in image packages/connect/proto/api.binpb, the
// contract of the last release, built by `npm run proto:baseline`. It needs no network and no
// git history, so it runs the same on a fresh clone and in CI.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { interfaceVersions } from '../packages/server/src/api/versions.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const buf = join(root, 'node_modules', '.bin', 'buf');
const connect = join(root, 'packages', 'connect');
const baseline = join(connect, 'proto', 'api.binpb');
const protoFile = join('proto', 'tidings', 'api', 'v1', 'api.proto');
const temp = mkdtempSync(join(tmpdir(), 'tidings-buf-'));

afterAll(() => rmSync(temp, { recursive: true, force: true }));

async function breaking(moduleDir: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(buf, ['breaking', moduleDir, '--against', baseline], { cwd: root });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A copy of the connect module with `edit` applied to api.proto. */
function mutated(name: string, edit: (proto: string) => string): string {
  const dir = join(temp, name);
  cpSync(join(connect, 'buf.yaml'), join(dir, 'buf.yaml'));
  cpSync(join(connect, 'proto'), join(dir, 'proto'), { recursive: true });
  const file = join(dir, protoFile);
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(file, after);
  return dir;
}

describe('Protobuf API breaking-change check (buf breaking against api.binpb)', () => {
  it('the current .proto is compatible with the checked-in baseline', async () => {
    const result = await breaking(connect);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('fails on a renumbered field and on a removed RPC, naming them', async () => {
    const renumbered = await breaking(
      mutated('renumbered', (p) =>
        p.replace('uint64 offset = 1;\n  string epoch = 2;', 'uint64 offset = 3;\n  string epoch = 2;'),
      ),
    );
    expect(renumbered.ok).toBe(false);
    expect(renumbered.output).toMatch(/StreamPosition/);
    const removed = await breaking(mutated('removed', (p) => p.replace(/\n\s*rpc HistoryRemove\([^\n]*\n/, '\n')));
    expect(removed.ok).toBe(false);
    expect(removed.output).toMatch(/HistoryRemove/);
  });

  it('accepts an added field (additions are compatible)', async () => {
    const added = await breaking(
      mutated('added', (p) =>
        p.replace(
          'message InfoResponse {\n  repeated NodeInfo nodes = 1;',
          'message InfoResponse {\n  repeated NodeInfo nodes = 1;\n  string extra = 99;',
        ),
      ),
    );
    expect(added.output).toBe('');
    expect(added.ok).toBe(true);
  });

  it('the package named in /api/info versions is the one the .proto declares', () => {
    const proto = readFileSync(join(connect, protoFile), 'utf8');
    expect(proto).toContain(`package ${interfaceVersions.protobufApi};`);
  });
});
