/**
 * `deno task bench` (DESIGN section 10): the level driver against raw `classic-level` and
 * Deno KV doing the same job, measured in the same run. Every scenario of every contestant
 * runs in a process of its own (`Deno.execPath()`) on a fresh temporary directory and prints
 * its result as one JSON line; this orchestrator collects them, prints a markdown table and
 * one JSON line per scenario with the ratios (our throughput divided by the reference's).
 *
 * Flags: `--entries N` (default 100,000), `--only a,b` (scenario names), `--repeat K` (the
 * median of K runs per contestant; default 3), `--memory-entries N` (default 500,000),
 * `--seed S`.
 *
 * Numbers on shared machines are noisy: compare the ratios, not the absolute rates.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { type ChildResult, DEFAULT_SEED, type ScenarioName } from "./bench/_shared.ts";

type Contestant = "level" | "classic-level" | "deno-kv";

interface Scenario {
  name: ScenarioName;
  contestants: Contestant[];
  /** Goals as ratios against each reference. */
  goals?: { "classic-level": number; "deno-kv": number };
  memory?: boolean;
  /** Writes its data in a setup process of its own before the timed process reads it. */
  setup?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: "level.produce.1seg",
    contestants: ["level", "classic-level", "deno-kv"],
    goals: { "classic-level": 0.7, "deno-kv": 2 },
  },
  {
    name: "level.produce.8seg",
    contestants: ["level", "classic-level", "deno-kv"],
    goals: { "classic-level": 0.7, "deno-kv": 2 },
  },
  {
    name: "level.consumeSegment",
    contestants: ["level", "classic-level", "deno-kv"],
    setup: true,
    goals: { "classic-level": 0.6, "deno-kv": 1.2 },
  },
  {
    name: "level.consumeSpace",
    contestants: ["level", "classic-level", "deno-kv"],
    setup: true,
    goals: { "classic-level": 0.6, "deno-kv": 1.2 },
  },
  { name: "level.memory.consume500k", contestants: ["level"], memory: true, setup: true },
];

const MODULES: Record<Contestant, string> = {
  "level": "./bench/_level.ts",
  "classic-level": "./bench/_classic_level.ts",
  "deno-kv": "./bench/_deno_kv.ts",
};

interface Options {
  entries: number;
  memoryEntries: number;
  repeat: number;
  seed: number;
  only: Set<string> | undefined;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    entries: 100_000,
    memoryEntries: 500_000,
    repeat: 3,
    seed: DEFAULT_SEED,
    only: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[++i];
    const count = () => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) {
        throw new Error(`${flag}: expected a positive integer`);
      }
      return n;
    };
    switch (flag) {
      case "--entries":
        options.entries = count();
        break;
      case "--memory-entries":
        options.memoryEntries = count();
        break;
      case "--repeat":
        options.repeat = count();
        break;
      case "--seed":
        options.seed = count();
        break;
      case "--only":
        options.only = new Set((value ?? "").split(",").filter((name) => name !== ""));
        break;
      default:
        throw new Error(
          `unknown flag ${flag}; flags: --entries N, --only a,b, --repeat K, --memory-entries N, --seed S`,
        );
    }
  }
  for (const name of options.only ?? []) {
    if (!SCENARIOS.some((scenario) => scenario.name === name)) {
      throw new Error(
        `--only: no scenario ${name}; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`,
      );
    }
  }
  return options;
}

/** Runs one phase of a contestant's scenario in a child process; resolves to its JSON line. */
async function runPhase(
  contestant: Contestant,
  scenario: Scenario,
  phase: "setup" | "measure" | "all",
  entries: number,
  seed: number,
  dir: string,
): Promise<unknown> {
  const module = fromFileUrl(new URL(MODULES[contestant], import.meta.url));
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-kv",
      "--v8-flags=--expose-gc",
      module,
      "--scenario",
      scenario.name,
      "--phase",
      phase,
      "--entries",
      String(entries),
      "--dir",
      dir,
      "--seed",
      String(seed),
    ],
    cwd: fromFileUrl(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "inherit",
  });
  const { code, stdout } = await command.output();
  if (code !== 0) throw new Error(`${contestant} ${scenario.name} ${phase}: exit code ${code}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Runs one contestant's scenario on a fresh directory: in one child process, or for a read
 * scenario a setup process writing the data and then a fresh process timing the reads.
 */
async function runChild(
  contestant: Contestant,
  scenario: Scenario,
  entries: number,
  seed: number,
): Promise<ChildResult> {
  const dir = await Deno.makeTempDir({ prefix: `streamkit-bench-${contestant}-` });
  try {
    if (scenario.setup) {
      await runPhase(contestant, scenario, "setup", entries, seed, dir);
      return await runPhase(contestant, scenario, "measure", entries, seed, dir) as ChildResult;
    }
    return await runPhase(contestant, scenario, "all", entries, seed, dir) as ChildResult;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function median(results: ChildResult[]): ChildResult {
  const sorted = [...results].sort((a, b) => a.entriesPerSec - b.entriesPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function ratio(ours: number, reference: number | undefined): number | undefined {
  return reference === undefined ? undefined : Math.round(ours / reference * 100) / 100;
}

function formatRate(rate: number | undefined): string {
  return rate === undefined ? "–" : rate.toLocaleString("en-US");
}

function formatRatio(value: number | undefined, goal: number | undefined): string {
  if (value === undefined) return "–";
  const mark = goal === undefined ? "" : value >= goal ? " ✓" : ` ✗ (goal ${goal})`;
  return `${value.toFixed(2)}×${mark}`;
}

const options = parseOptions(Deno.args);
const selected = SCENARIOS.filter((scenario) => options.only?.has(scenario.name) ?? true);
const results = new Map<string, ChildResult[]>();
const started = performance.now();

for (let round = 1; round <= options.repeat; round++) {
  for (const scenario of selected) {
    const entries = scenario.memory ? options.memoryEntries : options.entries;
    for (const contestant of scenario.contestants) {
      const result = await runChild(contestant, scenario, entries, options.seed);
      const key = `${scenario.name}/${contestant}`;
      results.set(key, [...results.get(key) ?? [], result]);
      console.error(
        `[${round}/${options.repeat}] ${scenario.name} ${contestant}: ${
          formatRate(result.entriesPerSec)
        } entries/s`,
      );
    }
  }
}

const rows: string[] = [];
const memoryRows: string[] = [];
const jsonLines: string[] = [];
for (const scenario of selected) {
  const get = (contestant: Contestant) => {
    const runs = results.get(`${scenario.name}/${contestant}`);
    return runs && median(runs);
  };
  const ours = get("level")!;
  if (scenario.memory) {
    const details = ours.details as Record<string, Record<string, number>>;
    for (const read of ["consumeSpace", "consumeSegment"]) {
      const d = details[read];
      memoryRows.push(
        `| ${read} | ${ours.entries.toLocaleString("en-US")} | ${
          formatRate(d.entriesPerSec)
        } | ${d.heapBeforeMiB} | ${d.heapPeakMiB} | ${d.heapAfterMiB} | ${d.rssPeakMiB} |`,
      );
    }
    jsonLines.push(JSON.stringify({
      scenario: scenario.name,
      entries: ours.entries,
      heapBeforeMiB: details.heapBeforeMiB,
      heapPeakMiB: details.heapPeakMiB,
      heapAfterMiB: details.heapAfterMiB,
      consumeSpace: details.consumeSpace,
      consumeSegment: details.consumeSegment,
    }));
    continue;
  }
  const raw = get("classic-level");
  const kv = get("deno-kv");
  const vsRaw = ratio(ours.entriesPerSec, raw?.entriesPerSec);
  const vsKv = ratio(ours.entriesPerSec, kv?.entriesPerSec);
  rows.push(
    `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${formatRate(raw?.entriesPerSec)} | ${
      formatRate(kv?.entriesPerSec)
    } | ${formatRatio(vsRaw, scenario.goals?.["classic-level"])} | ${
      formatRatio(vsKv, scenario.goals?.["deno-kv"])
    } |`,
  );
  jsonLines.push(JSON.stringify({
    scenario: scenario.name,
    entriesPerSec: ours.entriesPerSec,
    vs: { "classic-level": vsRaw ?? null, "deno-kv": vsKv ?? null },
  }));
}

const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(
  `\nstreamkit level driver, ${options.entries.toLocaleString("en-US")} entries of 256 bytes, ` +
    `median of ${options.repeat} run(s), ${Deno.build.os}/${Deno.build.arch}, ` +
    `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno} (${minutes} min)\n`,
);
if (rows.length > 0) {
  console.log(
    "| scenario | streamkit entries/s | classic-level entries/s | Deno KV entries/s | vs classic-level | vs Deno KV |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const row of rows) console.log(row);
  console.log(
    "\nclassic-level: the same keys and value bytes (precomputed before the clock starts, copied " +
      "into reused views before each put), chained batches of the same size (10,000 entries), " +
      "sync: true; reads: a values() iterator with the driver's nextv page size and " +
      "highWaterMarkBytes, decoding nothing. Deno KV: the same job (both indexes, the head " +
      "checked by versionstamp in each atomic commit) in chunks of 498 entries (its limit of " +
      "1,000 mutations per atomic operation); reads decode each entry. Reads: a setup process " +
      "writes (and, for LevelDB, compacts) the data, a fresh process times 5 passes, the median " +
      "pass counts.",
  );
}
if (memoryRows.length > 0) {
  console.log(
    "\n| memory (consume) | entries | entries/s | heap before MiB | heap peak MiB | heap after MiB | RSS peak MiB |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const row of memoryRows) console.log(row);
}
console.log("");
for (const line of jsonLines) console.log(line);
