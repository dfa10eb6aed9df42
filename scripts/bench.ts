/**
 * `deno task bench` (DESIGN section 10): the level driver against raw `classic-level` and
 * Deno KV doing the same job, and the Azure driver against raw `@azure/data-tables` on the
 * same Azurite, measured in the same run. Every scenario of every contestant runs in a process
 * of its own (`Deno.execPath()`) on a fresh temporary directory (level) or on fresh tables of
 * one Azurite that this orchestrator starts for the Azure scenarios and hands to the children
 * by its connection string (azure); each child prints its result as one JSON line. This
 * orchestrator collects them, prints a markdown table per driver and one JSON line per
 * scenario with the ratios (our throughput divided by the reference's).
 *
 * Flags: `--entries N` (level; default 100,000), `--azure-entries N` (azure; default 5,000),
 * `--only a,b` (scenario names, or their leading parts: `--only azure`, `--only level`,
 * `--only level.produce,azure.consumeSpace`), `--repeat K` (the median of K runs per
 * contestant; default 3), `--memory-entries N` (default 500,000), `--seed S`.
 *
 * Numbers on shared machines are noisy: compare the ratios, not the absolute rates.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { fileURLToPath as fromFileUrl } from "node:url";
import { TableServiceClient } from "@azure/data-tables";
import { type ChildResult, DEFAULT_SEED, type ScenarioName } from "./bench/_shared.ts";
import { type AzureScenarioName, CONNECTION_STRING_ENV } from "./bench/_azure_shared.ts";
import { type Azurite, startAzurite } from "./azurite.ts";

type Contestant = "level" | "classic-level" | "deno-kv" | "azure" | "data-tables";
/** The driver a scenario measures: its contestant is the first of the scenario's. */
type Driver = "level" | "azure";

interface Scenario {
  name: ScenarioName | AzureScenarioName;
  driver: Driver;
  /** The driver's contestant first, then the references. */
  contestants: Contestant[];
  /** Goals as ratios against each reference. */
  goals?: Partial<Record<Contestant, number>>;
  memory?: boolean;
  /** Writes its data in a setup process of its own before the timed process reads it. */
  setup?: boolean;
}

/** A child's result line; an Azure child names an Azure scenario. */
type Result = Omit<ChildResult, "scenario"> & { scenario: string };

const SCENARIOS: Scenario[] = [
  {
    name: "level.produce.1seg",
    driver: "level",
    contestants: ["level", "classic-level", "deno-kv"],
    goals: { "classic-level": 0.7, "deno-kv": 2 },
  },
  {
    name: "level.produce.8seg",
    driver: "level",
    contestants: ["level", "classic-level", "deno-kv"],
    goals: { "classic-level": 0.7, "deno-kv": 2 },
  },
  {
    name: "level.consumeSegment",
    driver: "level",
    contestants: ["level", "classic-level", "deno-kv"],
    setup: true,
    goals: { "classic-level": 0.6, "deno-kv": 1.2 },
  },
  {
    name: "level.consumeSpace",
    driver: "level",
    contestants: ["level", "classic-level", "deno-kv"],
    setup: true,
    goals: { "classic-level": 0.6, "deno-kv": 1.2 },
  },
  {
    name: "level.memory.consume500k",
    driver: "level",
    contestants: ["level"],
    memory: true,
    setup: true,
  },
  // An entry is written to two indexes (two transactions, plus the commit protocol's small
  // requests) where the raw reference writes one: hence the produce goal below 0.5.
  {
    name: "azure.produce.1seg",
    driver: "azure",
    contestants: ["azure", "data-tables"],
    goals: { "data-tables": 0.45 },
  },
  {
    name: "azure.produce.8seg",
    driver: "azure",
    contestants: ["azure", "data-tables"],
    goals: { "data-tables": 0.45 },
  },
  {
    name: "azure.consumeSegment",
    driver: "azure",
    contestants: ["azure", "data-tables"],
    setup: true,
    goals: { "data-tables": 0.8 },
  },
  {
    name: "azure.consumeSpace",
    driver: "azure",
    contestants: ["azure", "data-tables"],
    setup: true,
    goals: { "data-tables": 0.8 },
  },
];

const MODULES: Record<Contestant, string> = {
  "level": "./bench/_level.ts",
  "classic-level": "./bench/_classic_level.ts",
  "deno-kv": "./bench/_deno_kv.ts",
  "azure": "./bench/_azure.ts",
  "data-tables": "./bench/_data_tables.ts",
};

interface Options {
  entries: number;
  azureEntries: number;
  memoryEntries: number;
  repeat: number;
  seed: number;
  only: Set<string> | undefined;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    entries: 100_000,
    azureEntries: 5_000,
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
      case "--azure-entries":
        options.azureEntries = count();
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
          `unknown flag ${flag}; flags: --entries N, --azure-entries N, --only a,b, --repeat K, ` +
            "--memory-entries N, --seed S",
        );
    }
  }
  for (const name of options.only ?? []) {
    if (!SCENARIOS.some((scenario) => selects(name, scenario))) {
      throw new Error(
        `--only: no scenario ${name}; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")} ` +
          "(or their leading parts, e.g. azure, level.produce)",
      );
    }
  }
  return options;
}

/** Whether `--only` entry `name` selects `scenario`: its name, or a leading part of it. */
function selects(name: string, scenario: Scenario): boolean {
  return scenario.name === name || scenario.name.startsWith(`${name}.`);
}

/** Where a child works: a directory (level) or a table prefix on the shared Azurite (azure). */
type Place = { dir: string } | { tablePrefix: string; azurite: Azurite };

/** Runs one phase of a contestant's scenario in a child process; resolves to its JSON line. */
async function runPhase(
  contestant: Contestant,
  scenario: Scenario,
  phase: "setup" | "measure" | "all",
  entries: number,
  seed: number,
  place: Place,
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
      ...("dir" in place ? ["--dir", place.dir] : ["--table-prefix", place.tablePrefix]),
      "--seed",
      String(seed),
    ],
    // The connection string travels in the environment, not on a command line.
    env: "azurite" in place ? { [CONNECTION_STRING_ENV]: place.azurite.connectionString } : {},
    cwd: fromFileUrl(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "inherit",
  });
  const { code, stdout } = await command.output();
  if (code !== 0) throw new Error(`${contestant} ${scenario.name} ${phase}: exit code ${code}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Deletes the tables a run made (names starting with its prefix): Azurite keeps them in memory. */
async function deleteTables(azurite: Azurite, tablePrefix: string): Promise<void> {
  const service = TableServiceClient.fromConnectionString(azurite.connectionString, {
    allowInsecureConnection: true,
  });
  const names: string[] = [];
  for await (const table of service.listTables()) {
    if (table.name?.startsWith(tablePrefix)) names.push(table.name);
  }
  for (const name of names) await service.deleteTable(name);
}

/**
 * Runs one contestant's scenario on a fresh directory or fresh tables: in one child process,
 * or for a read scenario a setup process writing the data and then a fresh process timing the
 * reads.
 */
async function runChild(
  contestant: Contestant,
  scenario: Scenario,
  entries: number,
  seed: number,
  azurite: Azurite | undefined,
): Promise<Result> {
  let place: Place;
  if (scenario.driver === "azure") {
    if (!azurite) throw new Error(`${scenario.name}: Azurite is not running`);
    place = { tablePrefix: `bench${crypto.randomUUID().slice(0, 8)}`, azurite };
  } else {
    place = { dir: await Deno.makeTempDir({ prefix: `streamkit-bench-${contestant}-` }) };
  }
  try {
    if (scenario.setup) {
      await runPhase(contestant, scenario, "setup", entries, seed, place);
      return await runPhase(contestant, scenario, "measure", entries, seed, place) as Result;
    }
    return await runPhase(contestant, scenario, "all", entries, seed, place) as Result;
  } finally {
    if ("dir" in place) await Deno.remove(place.dir, { recursive: true });
    else {
      // A failure here must not hide the child's: Azurite is stopped at the end anyway.
      await deleteTables(place.azurite, place.tablePrefix).catch((error) =>
        console.error(`could not delete the tables ${place.tablePrefix}*: ${error}`)
      );
    }
  }
}

function median(results: Result[]): Result {
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

function azuriteVersion(): string {
  try {
    const url = new URL("../node_modules/azurite/package.json", import.meta.url);
    return (JSON.parse(readFileSync(fromFileUrl(url), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

const options = parseOptions(Deno.args);
const selected = SCENARIOS.filter((scenario) =>
  options.only === undefined || [...options.only].some((name) => selects(name, scenario))
);
const results = new Map<string, Result[]>();
const started = performance.now();

const entriesOf = (scenario: Scenario) =>
  scenario.memory
    ? options.memoryEntries
    : scenario.driver === "azure"
    ? options.azureEntries
    : options.entries;

// One Azurite for every Azure scenario, shared by their processes; each run has tables of its own.
const azurite = selected.some((scenario) => scenario.driver === "azure")
  ? await startAzurite()
  : undefined;
/** Minutes each driver's scenarios took, over every round. */
const driverMinutes: Record<Driver, number> = { level: 0, azure: 0 };
try {
  for (let round = 1; round <= options.repeat; round++) {
    for (const scenario of selected) {
      const scenarioStarted = performance.now();
      for (const contestant of scenario.contestants) {
        const result = await runChild(
          contestant,
          scenario,
          entriesOf(scenario),
          options.seed,
          azurite,
        );
        const key = `${scenario.name}/${contestant}`;
        results.set(key, [...results.get(key) ?? [], result]);
        console.error(
          `[${round}/${options.repeat}] ${scenario.name} ${contestant}: ${
            formatRate(result.entriesPerSec)
          } entries/s`,
        );
      }
      driverMinutes[scenario.driver] += (performance.now() - scenarioStarted) / 60_000;
    }
  }
} finally {
  await azurite?.stop();
}

const get = (scenario: Scenario, contestant: Contestant) => {
  const runs = results.get(`${scenario.name}/${contestant}`);
  return runs && median(runs);
};

const levelRows: string[] = [];
const azureRows: string[] = [];
const memoryRows: string[] = [];
const jsonLines: string[] = [];
for (const scenario of selected) {
  const ours = get(scenario, scenario.contestants[0])!;
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
  if (scenario.driver === "azure") {
    const raw = get(scenario, "data-tables");
    const vsRaw = ratio(ours.entriesPerSec, raw?.entriesPerSec);
    azureRows.push(
      `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${
        formatRate(raw?.entriesPerSec)
      } | ${formatRatio(vsRaw, scenario.goals?.["data-tables"])} |`,
    );
    jsonLines.push(JSON.stringify({
      scenario: scenario.name,
      entriesPerSec: ours.entriesPerSec,
      vs: { "data-tables": vsRaw ?? null },
    }));
    continue;
  }
  const raw = get(scenario, "classic-level");
  const kv = get(scenario, "deno-kv");
  const vsRaw = ratio(ours.entriesPerSec, raw?.entriesPerSec);
  const vsKv = ratio(ours.entriesPerSec, kv?.entriesPerSec);
  levelRows.push(
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
const partMinutes = (driver: Driver) =>
  selected.every((scenario) => scenario.driver === driver)
    ? `${minutes} min`
    : `${driver} part ${driverMinutes[driver].toFixed(1)} min of ${minutes}`;
const machine = `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ` +
  `Deno ${Deno.version.deno}`;
if (levelRows.length > 0 || memoryRows.length > 0) {
  console.log(
    `\nstreamkit level driver, ${options.entries.toLocaleString("en-US")} entries of 256 bytes, ` +
      `median of ${options.repeat} run(s), ${machine} (${partMinutes("level")})\n`,
  );
}
if (levelRows.length > 0) {
  console.log(
    "| scenario | streamkit entries/s | classic-level entries/s | Deno KV entries/s | vs classic-level | vs Deno KV |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const row of levelRows) console.log(row);
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
if (azureRows.length > 0) {
  console.log(
    `\nstreamkit azure driver on Azurite ${azuriteVersion()} (in memory, one for every run), ` +
      `${options.azureEntries.toLocaleString("en-US")} entries of 256 bytes, median of ` +
      `${options.repeat} run(s), ${machine} (${partMinutes("azure")})\n`,
  );
  console.log("| scenario | streamkit entries/s | @azure/data-tables entries/s | vs data-tables |");
  console.log("|---|---:|---:|---:|");
  for (const row of azureRows) console.log(row);
  console.log(
    "\n@azure/data-tables: entity group transactions of the driver's chunk size (90 creates) " +
      "into one partition per segment (segments concurrently), the same keys and the same " +
      "compressEntry bytes in v0, precomputed before the clock starts: one index where the " +
      "driver writes two and runs its commit protocol. Reads: listEntities pages of 1,000 over " +
      "the same rows (segment partition, space partition) with the driver's filter, decoding " +
      "nothing. Every run has fresh tables. In each process, produce: 1 warm-up and 5 timed " +
      "passes, each on fresh tables; reads: a setup process writes the data, a fresh process " +
      "reads it in 3 warm-up and 15 timed passes; the median pass counts.",
  );
}
console.log("");
for (const line of jsonLines) console.log(line);
