// Processors the hard way: three instances in separate processes run `runProcessor` on a LevelDB
// store served by a server process, while the test produces and SIGKILLs whichever instance is
// active at random moments (inside `handle`, between `handle` and the save, during renewal,
// while idle). The instances' audit must show every entry handled, at most one batch handed
// twice per kill, and never two instances inside `handle` at once. The same run without a
// lease is the control: it must break the audit.

import assert from "node:assert/strict";
import { join } from "node:path";
import { readLines } from "../core/_test_util.ts";
import type { Store } from "../core/mod.ts";
import { RemoteStoreFactory } from "../drivers/remote/mod.ts";
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
  for (let i = 1; i < intervals.length; i++) {
    const [before, after] = [intervals[i - 1], intervals[i]];
    if (before.pid !== after.pid && after.from < before.to) {
      problems.push(`two instances inside handle at once: ${before.pid} and ${after.pid}`);
      break;
    }
  }
  return problems;
}

async function run(
  lease: boolean,
): Promise<{ problems: string[]; kills: number; lines: number; entries: number }> {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-processor-kill-" });
  const audit = join(dir, "audit.jsonl");
  const server = await spawnLine([
    new URL("./_remote_server_child.ts", import.meta.url).pathname,
    join(dir, "data"),
    "0",
  ], /^listening (\d+)$/);
  const url = `http://127.0.0.1:${server.match[1]}`;
  const factory = new RemoteStoreFactory({ url });
  const children: Child[] = [];
  const kills = new Map<number, number>();
  const orders: ProcessorChildOrders = {
    url,
    storeId: STORE,
    audit,
    ttlMs: TTL_MS,
    maxEntries: 7,
    lease,
  };
  const start = async () => {
    const { process } = await spawnLine([
      new URL("./_processor_child.ts", import.meta.url).pathname,
      JSON.stringify(orders),
    ], /^ready$/);
    children.push({ pid: process.pid, process });
  };
  try {
    const store = await factory.newStore(STORE);
    for (let i = 0; i < 3; i++) await start();
    let killing = true;
    const producing = produceUntil(store, () => !killing);
    let lastKill = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // The active instance: the live one that wrote the audit since the last kill.
      let active: Child | undefined;
      const waitUntil = Date.now() + 15_000;
      while (!active && Date.now() < waitUntil) {
        const last = (await readAudit(audit)).at(-1);
        if (last && last.at > lastKill && !kills.has(last.pid)) {
          active = children.find((child) => child.pid === last.pid);
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (!active) break;
      // Anywhere in its life: inside handle, before its save, renewing, idle.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      lastKill = Date.now();
      kills.set(active.pid, lastKill);
      await stopChild(active.process, "SIGKILL");
      await start();
    }
    killing = false;
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
    const lines = await readAudit(audit);
    return {
      problems: auditProblems(lines, kills, expected),
      kills: kills.size,
      lines: lines.length,
      entries: expected.length,
    };
  } finally {
    await Promise.all(
      children.filter((child) => !kills.has(child.pid)).map((child) =>
        stopChild(child.process, "SIGTERM")
      ),
    );
    await factory.close();
    await stopChild(server.process, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("processor kills: instances SIGKILLed at random; every entry handled, at most one batch twice per kill, one instance in handle", async () => {
  const { problems, kills, lines, entries } = await run(true);
  console.log(`processor kills: ${kills} kills, ${entries} entries, ${lines} audit lines`);
  assert.equal(kills, KILLS, `only ${kills} kills happened`);
  assert.deepEqual(problems, []);
});

Deno.test("processor kills, the control: without a lease the instances overlap", async () => {
  const { problems } = await run(false);
  assert.ok(
    problems.some((problem) => problem.includes("two instances inside handle")),
    `the audit should catch instances overlapping without a lease: ${JSON.stringify(problems)}`,
  );
});
