// Processors the hard way: three instances in separate processes run `runProcessor` on a LevelDB
// store served by a server process, or on Azure (Azurite), while the test produces and SIGKILLs
// whichever instance is active at random moments (inside `handle`, between `handle` and the
// save, during renewal, while idle), or SIGSTOPs it past its lease. The instances' audit must
// show every entry handled, at most one batch handed twice per kill, and never two instances
// inside `handle` at once; the saved position must never go back. The same run without a
// lease is the control: it must break the audit.

import assert from "node:assert/strict";
import { join } from "node:path";
import { readLines } from "../core/_test_util.ts";
import type { Store } from "../core/mod.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
import { azuriteFactory } from "./_azure_test_store.ts";
import type { ProcessorChildOrders } from "./_processor_child.ts";

const STORE = "8a1c2e3f-4b5d-4e6f-8a7b-9c0d1e2f3a4b";
const SEGMENTS = ["s1", "s2", "s3", "s4"];
const CHUNK = 5;
const KILLS = 6;
const TTL_MS = 800;

interface AuditLine {
  pid: number;
  at: number;
  event: "enter" | "exit";
  seqs: string[];
  /** The fencing token of the lease the batch was handed under (none without a lease). */
  token?: number;
}

interface Child {
  pid: number;
  process: Deno.ChildProcess;
}

function spawnLine(
  args: string[],
  ready: RegExp,
): Promise<{ process: Deno.ChildProcess; match: RegExpExecArray }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return new Promise((resolve, reject) => {
    readLines(process.stdout, (line) => {
      const match = ready.exec(line);
      if (match) resolve({ process, match });
    }).then(() => reject(new Error(`${args.join(" ")}: exited before "${ready.source}"`)), reject);
  });
}

async function stopChild(child: Deno.ChildProcess, signal: Deno.Signal): Promise<void> {
  try {
    child.kill(signal);
  } catch {
    // Gone already.
  }
  await child.status;
}

async function readAudit(path: string): Promise<AuditLine[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line));
}

/** Produces chunks round the segments every 40 ms until `done` says stop; what it produced. */
async function produceUntil(store: Store, done: () => boolean): Promise<string[]> {
  const produced: string[] = [];
  for (let chunk = 0; !done() || chunk < 2; chunk++) {
    for (const segment of SEGMENTS) {
      const records = Array.from({ length: CHUNK }, (_, i) => ({
        sequence: chunk * CHUNK + i + 1,
        payload: new Uint8Array([i]),
      }));
      for await (const _ of store.produce({ space: "jobs", segment }, records)) {
        // one status per chunk
      }
      produced.push(...records.map((record) => `${segment}:${record.sequence}`));
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  return produced;
}

/** What the audit shows wrong, given the kills (pid and time) the test made. */
function auditProblems(
  lines: AuditLine[],
  kills: Map<number, number>,
  expected: string[],
): string[] {
  const problems: string[] = [];
  const handledCount = new Map<string, number>();
  for (const line of lines) {
    if (line.event !== "exit") continue;
    for (const seq of line.seqs) handledCount.set(seq, (handledCount.get(seq) ?? 0) + 1);
  }
  const missing = expected.filter((seq) => !handledCount.has(seq));
  if (missing.length > 0) problems.push(`never handled: ${missing.slice(0, 10).join(", ")}`);
  // Batches handed again: each exit batch holding an entry an earlier exit already held.
  const seen = new Set<string>();
  let repeatedBatches = 0;
  for (const line of lines) {
    if (line.event !== "exit") continue;
    if (line.seqs.some((seq) => seen.has(seq))) repeatedBatches++;
    for (const seq of line.seqs) seen.add(seq);
  }
  if (repeatedBatches > kills.size) {
    problems.push(`${repeatedBatches} batches handed twice for ${kills.size} kills`);
  }
  // Inside `handle`: from enter to exit, or to the kill of an instance that never exited.
  const open = new Map<number, number>();
  const intervals: { pid: number; from: number; to: number }[] = [];
  for (const line of lines) {
    if (line.event === "enter") open.set(line.pid, line.at);
    else {
      intervals.push({ pid: line.pid, from: open.get(line.pid)!, to: line.at });
      open.delete(line.pid);
    }
  }
  for (const [pid, from] of open) {
    intervals.push({ pid, from, to: kills.get(pid) ?? Number.POSITIVE_INFINITY });
  }
  intervals.sort((a, b) => a.from - b.from);
  // Fencing tokens: each holder's above every earlier holder's, never shared by two processes.
  const holders = new Map<number, number>();
  let highest = 0;
  for (const line of lines) {
    if (line.event !== "enter" || line.token === undefined) continue;
    const holder = holders.get(line.token);
    if (holder !== undefined && holder !== line.pid) {
      problems.push(`token ${line.token} handed to two instances: ${holder} and ${line.pid}`);
      break;
    }
    if (line.token < highest) {
      problems.push(`token ${line.token} handed after token ${highest}`);
      break;
    }
    holders.set(line.token, line.pid);
    highest = line.token;
  }
  for (let i = 1; i < intervals.length; i++) {
    const [before, after] = [intervals[i - 1], intervals[i]];
    if (before.pid !== after.pid && after.from < before.to) {
      problems.push(`two instances inside handle at once: ${before.pid} and ${after.pid}`);
      break;
    }
  }
  return problems;
}

/** Where the instances run: a LevelDB store behind a server process, or Azure (Azurite). */
type Target = "remote" | "azure";

interface RunOptions {
  target: Target;
  lease: boolean;
  /** SIGSTOP the active instance for three ttls (then SIGCONT) instead of killing. */
  pause?: boolean;
}

interface RunResult {
  problems: string[];
  kills: number;
  lines: number;
  /** Distinct fencing tokens in the audit. */
  tokens: number;
  entries: number;
  /** Checkpoint saves seen by the watcher, and the ones that went backwards. */
  saves: number;
}

/** Opens the target: its store for the test, what children are told, and how to close it. */
async function openTarget(target: Target, dir: string) {
  if (target === "remote") {
    const server = await spawnLine([
      new URL("./_remote_server_child.ts", import.meta.url).pathname,
      join(dir, "data"),
      "0",
    ], /^listening (\d+)$/);
    const url = `http://127.0.0.1:${server.match[1]}`;
    const factory = new RemoteStoreFactory({ url });
    return {
      factory,
      orders: { url },
      close: async () => {
        await factory.close();
        await stopChild(server.process, "SIGKILL");
      },
    };
  }
  const azurite = await startAzurite();
  const tablePrefix = `pk${crypto.randomUUID().slice(0, 8)}`;
  const connectionString = azurite.connectionString;
  const factory = azuriteFactory(azurite, tablePrefix);
  return {
    factory,
    orders: { connectionString, tablePrefix },
    close: async () => {
      await factory.close();
      await azurite.stop();
    },
  };
}

/** Polls the processor's checkpoint: its position must never go back. */
function watchCheckpoint(store: Store, problems: string[]) {
  let last = "";
  let saves = 0;
  let version = 0;
  let watching = true;
  const done = (async () => {
    while (watching) {
      const checkpoint = await store.getCheckpoint("audited").catch(() => undefined);
      if (checkpoint && checkpoint.version !== version) {
        version = checkpoint.version;
        saves++;
        const offset = JSON.parse(new TextDecoder().decode(checkpoint.value)).jobs ?? "";
        if (offset < last) problems.push(`the saved position went back at version ${version}`);
        last = offset;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await done;
      return saves;
    },
  };
}

/** Waits until the instance `pid` says (in `<audit>.stopped`) that it stops itself. */
async function waitStopped(audit: string, pid: number): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const said = await Deno.readTextFile(`${audit}.stopped`).catch(() => "");
    if (said === String(pid)) {
      // It sends itself SIGSTOP right after writing the file.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`process ${pid} did not stop itself`);
}

/** Waits for the active instance: the live one that wrote the audit since `since`. */
async function activeSince(
  audit: string,
  since: number,
  children: Child[],
  gone: Map<number, number>,
): Promise<Child | undefined> {
  const waitUntil = Date.now() + 15_000;
  while (Date.now() < waitUntil) {
    const last = (await readAudit(audit)).at(-1);
    if (last && last.at > since && !gone.has(last.pid)) {
      return children.find((child) => child.pid === last.pid);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

async function run({ target, lease, pause = false }: RunOptions): Promise<RunResult> {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-processor-kill-" });
  const audit = join(dir, "audit.jsonl");
  const opened = await openTarget(target, dir);
  const children: Child[] = [];
  // Instances killed (or paused: stale from then on), with when.
  const gone = new Map<number, number>();
  const orders: ProcessorChildOrders = {
    target: opened.orders,
    storeId: STORE,
    audit,
    ttlMs: TTL_MS,
    maxEntries: 7,
    lease,
  };
  const start = async (extra: Partial<ProcessorChildOrders> = {}) => {
    const { process } = await spawnLine([
      new URL("./_processor_child.ts", import.meta.url).pathname,
      JSON.stringify({ ...orders, ...extra }),
    ], /^ready$/);
    const child = { pid: process.pid, process };
    children.push(child);
    return child;
  };
  // The only other instance alive: it takes over from the one killed, and stops itself.
  const startPausing = async () => {
    for (const child of children) {
      if (!gone.has(child.pid)) {
        gone.set(child.pid, Date.now());
        await stopChild(child.process, "SIGKILL");
      }
    }
    return await start({ stopSelfAtBatch: 2 });
  };
  const watchProblems: string[] = [];
  let watcher: ReturnType<typeof watchCheckpoint> | undefined;
  try {
    const store = await opened.factory.newStore(STORE);
    watcher = watchCheckpoint(store, watchProblems);
    for (let i = 0; i < 3; i++) await start();
    let disturbing = true;
    const producing = produceUntil(store, () => !disturbing);
    // Awaited below; a failure elsewhere first closes the store under it (no dangling rejection).
    producing.catch(() => {});
    let last = 0;
    let paused: Child | undefined;
    for (let round = 0; round < (pause ? 1 : KILLS); round++) {
      const active = await activeSince(audit, last, children, gone);
      if (!active) break;
      // Anywhere in its life: inside handle, before its save, renewing, idle.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      last = Date.now();
      gone.set(active.pid, last);
      if (pause) {
        // An instance that stops itself between a handle and its save, past its lease: another
        // takes over and saves further; continued, its stale save must be refused.
        await stopChild(active.process, "SIGKILL");
        const pausing = await startPausing();
        await waitStopped(audit, pausing.pid);
        last = Date.now();
        gone.set(pausing.pid, last);
        await start();
        // Continued once the new holder has handled and saved everything (below): a stale
        // save would then be the last one, for the watcher to see.
        paused = pausing;
      } else {
        await stopChild(active.process, "SIGKILL");
        await start();
      }
    }
    disturbing = false;
    const expected = await producing;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const handled = new Set(
        (await readAudit(audit)).filter((line) => line.event === "exit").flatMap((line) =>
          line.seqs
        ),
      );
      if (expected.every((seq) => handled.has(seq))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (paused) {
      paused.process.kill("SIGCONT");
      await new Promise((resolve) => setTimeout(resolve, 2 * TTL_MS));
    }
    // The paused instance's lines after its pause are stale by design: cut at the pause.
    const lines = (await readAudit(audit)).filter((line) =>
      !gone.has(line.pid) || line.at <= gone.get(line.pid)!
    );
    const saves = await watcher.stop();
    watcher = undefined;
    return {
      problems: [...auditProblems(lines, gone, expected), ...watchProblems],
      kills: gone.size,
      lines: lines.length,
      tokens: new Set(lines.flatMap((line) => line.token === undefined ? [] : [line.token])).size,
      entries: expected.length,
      saves,
    };
  } finally {
    await watcher?.stop();
    await Promise.all(children.map((child) => stopChild(child.process, "SIGKILL")));
    await opened.close();
    await Deno.remove(dir, { recursive: true });
  }
}

for (const target of ["remote", "azure"] as const) {
  const where = target === "remote" ? "level behind a server" : "azure";
  Deno.test(`processor kills (${where}): instances SIGKILLed at random; every entry handled, at most one batch twice per kill, one instance in handle`, async () => {
    const result = await run({ target, lease: true });
    console.log(
      `processor kills (${where}): ${result.kills} kills, ${result.entries} entries, ` +
        `${result.lines} audit lines, ${result.tokens} fencing tokens, ${result.saves} saves seen`,
    );
    assert.equal(result.kills, KILLS, `only ${result.kills} kills happened`);
    assert.ok(result.tokens > KILLS, `each kill brings a new holder: ${result.tokens} tokens`);
    assert.deepEqual(result.problems, []);
  });

  Deno.test(`processor kills (${where}): an instance paused past its lease cannot save once it resumes`, async () => {
    const result = await run({ target, lease: true, pause: true });
    console.log(
      `processor pause (${where}): ${result.entries} entries, ${result.saves} saves seen`,
    );
    assert.ok(result.kills >= 1, "the pause happened");
    assert.deepEqual(result.problems, []);
  });
}

Deno.test("processor kills, the control: without a lease the instances overlap", async () => {
  const { problems } = await run({ target: "remote", lease: false });
  assert.ok(
    problems.some((problem) => problem.includes("two instances inside handle")),
    `the audit should catch instances overlapping without a lease: ${JSON.stringify(problems)}`,
  );
});
