// Shared pieces of the ingest tests: an in-process node on a memory engine with a `feed`
// namespace that keeps history, a silent logger that keeps warnings, and history readers.
import { createJwtAuthenticator, createMemoryEngine, createNode, type TidingsNode } from '@tidings/server';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every 25 ms; throws `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(25);
  }
}

/** A logger that drops info and records warnings and errors (tests assert on them). */
export function recordingLogger() {
  const warnings: Array<{ obj: object; msg: string | undefined }> = [];
  return {
    warnings,
    debug: () => undefined,
    trace: () => undefined,
    info: () => undefined,
    warn: (obj: object, msg?: string) => warnings.push({ obj, msg }),
    error: (obj: object, msg?: string) => warnings.push({ obj, msg }),
    fatal: (obj: object, msg?: string) => warnings.push({ obj, msg }),
    child() {
      return this;
    },
  };
}

/** A started node on its own memory engine; `feed:*` keeps 100,000 publications. */
export async function startFeedNode(): Promise<TidingsNode> {
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { feed: { historySize: 100_000, historyTtlMs: 600_000 } } },
  });
  await node.start();
  return node;
}

/** The payload ids (`data.id`) stored in `channel`'s history, in offset order. */
export async function historyIds(node: TidingsNode, channel: string): Promise<string[]> {
  const read = await node.history(channel, { limit: -1 });
  return read.publications.map((p) => (JSON.parse(new TextDecoder().decode(p.data)) as { id: string }).id);
}

/** Ids that occur more than once. */
export function repeats(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}
