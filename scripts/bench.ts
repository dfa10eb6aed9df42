/**
 * `deno task bench` (DESIGN sections 10 and 11): the level driver against raw `classic-level`
 * and Deno KV doing the same job, and the Azure driver against raw `@azure/data-tables` on the
 * same Azurite, measured in the same run; and following and merging (`level.follow.*`,
 * `level.consume.merge8`, `azure.follow.latency`): the latency from a produce to a follower
 * (against a Deno KV watch), a follow catching up and a merging `consume`, each against
 * `consumeSpace` timed in the same process; and the `streamkit` command (`cli.copy.level`,
 * `cli.export.level`): `copy` and `export --out` of level.consumeSpace's data, each run as a
 * process of its own and timed whole (start-up included), against the level driver's produce
 * of the same entries and its `consumeSpace`, timed in the process that runs the command;
 * and the Azure driver through the Azure simulator (drivers/azure/_test_simulator.ts: Azure's round
 * trip and scalability targets in front of Azurite): a steady stream and a space read with a
 * 10 ms round trip against raw `@azure/data-tables` on the same network
 * (`azure.produce.rtt10`, `azure.consumeSpace.rtt10`), and a space's write throughput by shard
 * count under the partition limits, scaled down (`azure.space.scale`).
 * Every scenario of every contestant runs in a process of its own (`Deno.execPath()`) on a
 * fresh temporary directory (level) or on fresh tables of one Azurite that this orchestrator
 * starts for the Azure scenarios and hands to the children by its connection string (azure);
 * each child prints its result as one JSON line.
 * This orchestrator collects them, prints markdown tables and one JSON line per scenario with
 * the ratios (our throughput divided by the reference's; for latency, the reference's p99
 * divided by ours: above 1, ours is lower).
 *
 * Flags: `--entries N` (level; default 100,000), `--azure-entries N` (azure; default 5,000),
 * `--only a,b` (scenario names, or their leading parts: `--only azure`, `--only level`,
 * `--only level.produce,azure.consumeSpace`), `--repeat K` (the median of K runs per
 * contestant; default 3), `--memory-entries N` (default 500,000), `--seed S`.
 *
 * Numbers on shared machines are noisy: compare the ratios, not the absolute rates.
 *
 * Layout of `scripts/bench/`, each file named for what it holds. This orchestrator starts
 * `_child.ts` once per phase of each scenario of each contestant (a read scenario has a setup
 * phase and a measuring one); the child loads that contestant's `_contestant_*.ts` only.
 *
 * - `_workload.ts`: the scenarios (what each does, on which driver) and the data every
 *   contestant writes: the seeded payloads split over the segments, the entries of each chunk.
 * - `_child.ts`: the child process, both sides: starting one with its arguments, and, run as a
 *   script, the one child entry (parsing those arguments, loading the contestant, running one
 *   phase, printing the JSON result line).
 * - `_contestant.ts`: what a contestant implements (produce, consume, memory, follow latency,
 *   catch-up, merge) and the measuring they share (timing after a garbage collection, the
 *   median pass, two reads compared pass by pass in one process, the read checks).
 * - `_latency.ts`: timing single entries from their produce to a follower in the same process,
 *   whatever follows them, and the percentiles.
 * - `_contestant_streamkit_level.ts`, `_contestant_classic_level.ts`, `_contestant_deno_kv.ts`:
 *   the level scenarios' contestants: streamkit's LevelDB driver, and its two references.
 * - `_contestant_streamkit_azure.ts`, `_contestant_data_tables.ts`: the Azure scenarios'
 *   contestants: streamkit's Azure driver, and its reference.
 * - `_streamkit_store.ts`: what the two streamkit contestants share (producing, consuming and
 *   following through the public `Store`).
 * - `_streamkit_cli.ts`: the `streamkit` command (`cli/main.ts`) run and timed as a process of
 *   its own, for the CLI scenarios of the "level" contestant.
 * - `_leveldb.ts`, `_azure_tables.ts`: what each driver's contestants share: the rows the
 *   driver writes, precomputed for its raw reference, and the library's common set-up.
 * - `_azure_store.ts`: the Azure driver's store as the benchmark opens it, the data of its read
 *   scenarios, and the shard partitions it put a space in (for the raw reference's reads).
 * - `_simulator.ts`, `_simulator_worker.ts`: the Azure simulator as a child runs it (in a
 *   worker thread, in front of the shared Azurite) and counts its requests per pass.
 * - `_space_scale.ts`: `azure.space.scale`, the Azure driver's space throughput by shard count.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { fileURLToPath as fromFileUrl } from "node:url";
import { TableServiceClient } from "@azure/data-tables";
import {
  type ChildRequest,
  type ChildResult,
  type ContestantName,
  positiveInteger,
  runChildProcess,
} from "./bench/_child.ts";
import { COMMAND_REFERENCES, type SameProcessReference } from "./bench/_contestant.ts";
import {
  DEFAULT_SEED,
  type Driver,
  hasSetup,
  RTT10,
  type ScenarioName,
  type Workload,
  WORKLOADS,
} from "./bench/_workload.ts";
import type { SimulatedDetails, SimulatedNetwork } from "./bench/_simulator.ts";
import type { ShardsResult } from "./bench/_space_scale.ts";
import { type Azurite, startAzurite } from "../drivers/azure/_test_support.ts";

/** What a scenario's figures are compared with: another contestant, or a read of our own. */
type Reference = ContestantName | SameProcessReference;

interface Scenario {
  name: ScenarioName;
  /** The driver's contestant first, then the references. */
  contestants: ContestantName[];
  /** Goals as ratios against each reference. */
  goals?: Partial<Record<Reference, number>>;
  /** A latency scenario's goal: the highest p99 that meets it, in milliseconds. */
  maxP99Ms?: number;
  /**
   * What the figures of a following, merging or CLI scenario are compared with, for its table.
   */
  comparedWith?: string;
  /** A space-scaling scenario's goal: N shards reach at least this times N × 1 shard's rate. */
  perShardGoal?: number;
}

const LEVEL_CONTESTANTS: ContestantName[] = ["level", "classic-level", "deno-kv"];
const AZURE_CONTESTANTS: ContestantName[] = ["azure", "data-tables"];

const LEVEL_PRODUCE_GOALS = { "classic-level": 0.7, "deno-kv": 2 };
const LEVEL_CONSUME_GOALS = { "classic-level": 0.6, "deno-kv": 1.2 };

const SCENARIOS: Scenario[] = [
  { name: "level.produce.1seg", contestants: LEVEL_CONTESTANTS, goals: LEVEL_PRODUCE_GOALS },
  { name: "level.produce.8seg", contestants: LEVEL_CONTESTANTS, goals: LEVEL_PRODUCE_GOALS },
  { name: "level.consumeSegment", contestants: LEVEL_CONTESTANTS, goals: LEVEL_CONSUME_GOALS },
  { name: "level.consumeSpace", contestants: LEVEL_CONTESTANTS, goals: LEVEL_CONSUME_GOALS },
  { name: "level.memory.consume500k", contestants: ["level"] },
  {
    name: "level.follow.latency",
    contestants: ["level", "deno-kv"],
    goals: { "deno-kv": 1 },
    maxP99Ms: 5,
    comparedWith: "Deno KV: watch of the head key, then a get of the entry",
  },
  {
    name: "level.follow.catchup",
    contestants: ["level"],
    goals: { consumeSpace: 0.9 },
    comparedWith: "consumeSpace of the same space, same process",
  },
  {
    name: "level.consume.merge8",
    contestants: ["level"],
    goals: { consumeSpace: 0.7 },
    comparedWith: "consumeSpace of each space in turn, same process",
  },
  // The command is timed whole, start-up included (some 0.15 s, measured and shown apart).
  {
    name: "cli.copy.level",
    contestants: ["level"],
    goals: { produce: 0.5 },
    comparedWith: "produce of the same entries (8 segments concurrently), same process",
  },
  {
    name: "cli.export.level",
    contestants: ["level"],
    goals: { consumeSpace: 0.5 },
    comparedWith: "consumeSpace of the same space, same process",
  },
  // An entry is written to two indexes (two transactions, plus the commit protocol's small
  // requests) where the raw reference writes one: hence the produce goal below 0.5.
  { name: "azure.produce.1seg", contestants: AZURE_CONTESTANTS, goals: { "data-tables": 0.45 } },
  { name: "azure.produce.8seg", contestants: AZURE_CONTESTANTS, goals: { "data-tables": 0.45 } },
  { name: "azure.consumeSegment", contestants: AZURE_CONTESTANTS, goals: { "data-tables": 0.8 } },
  { name: "azure.consumeSpace", contestants: AZURE_CONTESTANTS, goals: { "data-tables": 0.8 } },
  // No Azure library follows a table: nothing to compare with.
  { name: "azure.follow.latency", contestants: ["azure"] },
  // Through the Azure simulator (10 ms round trip): a segment's chunks pipeline (the next
  // commit overlaps the previous fanout), so a steady stream should cost about one round trip
  // per chunk, as the raw transactions do.
  // The raw library runs in the same process, its passes alternating with the driver's.
  { name: "azure.produce.rtt10", contestants: ["azure"], goals: { "data-tables": 0.8 } },
  { name: "azure.consumeSpace.rtt10", contestants: ["azure"], goals: { "data-tables": 0.8 } },
  // Under the simulator's partition limits: the 1-shard rate is the reference, of the same run.
  { name: "azure.space.scale", contestants: ["azure"], perShardGoal: 0.7 },
];

function workloadOf(scenario: Scenario): Workload {
  return WORKLOADS[scenario.name];
}

interface Options {
  entries: number;
  azureEntries: number;
  memoryEntries: number;
  repeat: number;
  seed: number;
  only: Set<string> | undefined;
}

/** The flags taking a positive integer, and the option each sets. */
const COUNT_FLAGS: Record<string, Exclude<keyof Options, "only">> = {
  "--entries": "entries",
  "--azure-entries": "azureEntries",
  "--memory-entries": "memoryEntries",
  "--repeat": "repeat",
  "--seed": "seed",
};

function parseOptions(args: string[]): Options {
  const options: Options = {
    entries: 100_000,
    azureEntries: 5_000,
    memoryEntries: 500_000,
    repeat: 3,
    seed: DEFAULT_SEED,
    only: undefined,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === "--only") {
      options.only = new Set((value ?? "").split(",").filter((name) => name !== ""));
    } else if (Object.hasOwn(COUNT_FLAGS, flag)) {
      options[COUNT_FLAGS[flag]] = positiveInteger(flag, value);
    } else {
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

/** Deletes the tables a run made (names starting with its prefix): Azurite keeps them in memory. */
async function deleteTables(connectionString: string, tablePrefix: string): Promise<void> {
  const service = TableServiceClient.fromConnectionString(connectionString, {
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
async function runContestant(
  contestant: ContestantName,
  scenario: Scenario,
  entries: number,
  seed: number,
  azurite: Azurite | undefined,
): Promise<ChildResult> {
  const workload = workloadOf(scenario);
  const { driver } = workload;
  let place: ChildRequest["place"];
  if (driver === "azure") {
    if (!azurite) throw new Error(`${scenario.name}: Azurite is not running`);
    place = {
      tablePrefix: `bench${crypto.randomUUID().slice(0, 8)}`,
      connectionString: azurite.connectionString,
    };
  } else {
    place = { dir: await Deno.makeTempDir({ prefix: `streamkit-bench-${contestant}-` }) };
  }
  const request = { contestant, scenario: scenario.name, entries, seed, place };
  try {
    if (!hasSetup(workload)) {
      return await runChildProcess({ ...request, phase: "all" }) as ChildResult;
    }
    await runChildProcess({ ...request, phase: "setup" });
    return await runChildProcess({ ...request, phase: "measure" }) as ChildResult;
  } finally {
    if ("dir" in place) await Deno.remove(place.dir, { recursive: true });
    else {
      const { connectionString, tablePrefix } = place;
      // A failure here must not hide the child's: Azurite is stopped at the end anyway.
      await deleteTables(connectionString, tablePrefix).catch((error) =>
        console.error(`could not delete the tables ${tablePrefix}*: ${error}`)
      );
    }
  }
}

function median(results: ChildResult[]): ChildResult {
  const sorted = [...results].sort((a, b) => a.entriesPerSec - b.entriesPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function medianOf(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
}

/** The median p50 and the median p99 of a latency scenario's runs. */
function medianLatency(results: ChildResult[]): { p50Ms: number; p99Ms: number } {
  return {
    p50Ms: medianOf(results.map((result) => result.latency!.p50Ms)),
    p99Ms: medianOf(results.map((result) => result.latency!.p99Ms)),
  };
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

function formatLatency({ p50Ms, p99Ms }: { p50Ms: number; p99Ms: number }): string {
  return `p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms`;
}

/** How many samples a latency scenario times, for the notes under the tables. */
function formatSamples({ warmUp, timed }: { warmUp: number; timed: number }): string {
  return `${timed.toLocaleString("en-US")} timed samples after ${warmUp} warm-up ones`;
}

function formatMaxP99(p99Ms: number, maxP99Ms: number | undefined): string {
  if (maxP99Ms === undefined) return "";
  return p99Ms <= maxP99Ms ? " ✓" : ` ✗ (goal p99 ≤ ${maxP99Ms} ms)`;
}

/** A child's result as the progress line shows it. */
function describeResult(result: ChildResult): string {
  if (result.latency) return formatLatency(result.latency);
  if (result.scenario === "azure.space.scale") {
    return shardResults(result).map((at) =>
      `${at.shards} shard(s) ${formatRate(at.entriesPerSec)} entries/s`
    ).join(", ");
  }
  const references = Object.entries(result.references ?? {})
    .map(([name, rate]) => `, ${name} ${formatRate(rate)}`).join("");
  return `${formatRate(result.entriesPerSec)} entries/s${references}`;
}

/**
 * The requests a simulated scenario's timed pass sent (the median pass), ours / the raw
 * reference's, and per chunk for a produce.
 */
function formatRequests(result: ChildResult): string {
  const details = result.details as {
    simulator: SimulatedDetails;
    referenceSimulator: SimulatedDetails;
    chunksPerPass?: number;
  };
  const perPass = [details.simulator, details.referenceSimulator].map((d) => d.requestsPerPass);
  const cell = perPass.map(formatRate).join(" / ");
  const chunks = details.chunksPerPass;
  if (chunks === undefined) return cell;
  return `${cell} (${perPass.map((n) => (n / chunks).toFixed(2)).join(" / ")} per chunk)`;
}

/** Each shard count's figures in a space-scaling run, 1 shard first. */
function shardResults(result: ChildResult): ShardsResult[] {
  return (result.details as { shards: ShardsResult[] }).shards;
}

/** A simulated network as the notes describe it. */
function describeNetwork(network: SimulatedNetwork): string {
  const limits = network.partitionEntitiesPerSecond > 0
    ? `, ${formatRate(network.partitionEntitiesPerSecond)} entities/s per partition and ` +
      `${formatRate(network.accountRequestsPerSecond)} requests/s on the account (token ` +
      `buckets of ${network.burstSeconds} s; beyond them 503 ServerBusy, nothing applied)`
    : ", no rate limits";
  return `a round trip of ${network.latencyMs} ± ${network.jitterMs} ms added to every ` +
    `request${limits}`;
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
const results = new Map<string, ChildResult[]>();
const started = performance.now();

const entriesOf = (scenario: Scenario) => {
  const workload = workloadOf(scenario);
  if (workload.kind === "followLatency") return workload.samples.timed;
  if (workload.kind === "memory") return options.memoryEntries;
  return workload.driver === "azure" ? options.azureEntries : options.entries;
};

// One Azurite for every Azure scenario, shared by their processes; each run has tables of its own.
const azurite = selected.some((scenario) => workloadOf(scenario).driver === "azure")
  ? await startAzurite()
  : undefined;
/** Minutes each driver's scenarios took, over every round. */
const driverMinutes: Record<Driver, number> = { level: 0, azure: 0 };
try {
  for (let round = 1; round <= options.repeat; round++) {
    for (const scenario of selected) {
      const scenarioStarted = performance.now();
      for (const contestant of scenario.contestants) {
        const result = await runContestant(
          contestant,
          scenario,
          entriesOf(scenario),
          options.seed,
          azurite,
        );
        const key = `${scenario.name}/${contestant}`;
        results.set(key, [...results.get(key) ?? [], result]);
        console.error(
          `[${round}/${options.repeat}] ${scenario.name} ${contestant}: ${describeResult(result)}`,
        );
      }
      driverMinutes[workloadOf(scenario).driver] += (performance.now() - scenarioStarted) / 60_000;
    }
  }
} finally {
  await azurite?.stop();
}

const runsOf = (scenario: Scenario, contestant: ContestantName) =>
  results.get(`${scenario.name}/${contestant}`);
const get = (scenario: Scenario, contestant: ContestantName) => {
  const runs = runsOf(scenario, contestant);
  return runs && median(runs);
};

const levelRows: string[] = [];
const followRows: string[] = [];
const azureRows: string[] = [];
const azureFollowRows: string[] = [];
const simulatedRows: string[] = [];
const scaleRows: string[] = [];
const memoryRows: string[] = [];
const cliRows: string[] = [];
const jsonLines: string[] = [];
for (const scenario of selected) {
  const workload = workloadOf(scenario);
  const { kind, driver } = workload;
  if (kind === "followLatency") {
    const ours = medianLatency(runsOf(scenario, scenario.contestants[0])!);
    const oursCell = `${formatLatency(ours)}${formatMaxP99(ours.p99Ms, scenario.maxP99Ms)}`;
    if (driver === "azure") {
      azureFollowRows.push(`| ${scenario.name} | ${oursCell} | none |`);
      jsonLines.push(JSON.stringify({ scenario: scenario.name, ...ours }));
      continue;
    }
    const kvRuns = runsOf(scenario, "deno-kv");
    const kv = kvRuns && medianLatency(kvRuns);
    // The reference's p99 over ours: above 1, ours is the lower.
    const vsKv = kv && ratio(kv.p99Ms, ours.p99Ms);
    followRows.push(
      `| ${scenario.name} | ${oursCell} | ${scenario.comparedWith} | ${
        kv ? formatLatency(kv) : "–"
      } | ${formatRatio(vsKv, scenario.goals?.["deno-kv"])} (p99) |`,
    );
    jsonLines.push(JSON.stringify({
      scenario: scenario.name,
      ...ours,
      vs: { "deno-kv": vsKv ?? null },
    }));
    continue;
  }
  const ours = get(scenario, scenario.contestants[0])!;
  if (workload.kind === "catchUp" || workload.kind === "merge" || workload.kind === "cli") {
    // Both jobs ran in every process: the median of the processes' own ratios.
    const name: SameProcessReference = workload.kind === "cli"
      ? COMMAND_REFERENCES[workload.command]
      : "consumeSpace";
    const runs = runsOf(scenario, scenario.contestants[0])!;
    const reference = medianOf(runs.map((run) => run.references![name]!));
    const vsReference = medianOf(
      runs.map((run) => ratio(run.entriesPerSec, run.references![name])!),
    );
    const cells = [
      `${formatRate(ours.entriesPerSec)} entries/s`,
      scenario.comparedWith,
      `${formatRate(reference)} entries/s`,
      formatRatio(vsReference, scenario.goals?.[name]),
    ];
    if (workload.kind === "cli") {
      // The command's fixed cost, and the ratio its run would have without it.
      const startup = (run: ChildResult) =>
        (run.details as { startupSeconds: number }).startupSeconds;
      const lessStartup = medianOf(
        runs.map((run) =>
          ratio(run.entries / (run.seconds - startup(run)), run.references![name])!
        ),
      );
      cells.splice(1, 0, `${medianOf(runs.map(startup)).toFixed(2)} s`);
      cells.push(`${lessStartup.toFixed(2)}×`);
    }
    (workload.kind === "cli" ? cliRows : followRows).push(
      `| ${scenario.name} | ${cells.join(" | ")} |`,
    );
    jsonLines.push(JSON.stringify({
      scenario: scenario.name,
      entriesPerSec: ours.entriesPerSec,
      vs: { [name]: vsReference },
    }));
    continue;
  }
  if (kind === "memory") {
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
  if (kind === "spaceScale") {
    const runs = runsOf(scenario, scenario.contestants[0])!.map(shardResults);
    for (const shards of workload.scale.shards) {
      // The median run of this shard count, and the median of the runs' own ratios.
      const ofShards = runs.map((run) => ({ run, at: run.find((r) => r.shards === shards)! }));
      const at = [...ofShards].sort((a, b) => a.at.entriesPerSec - b.at.entriesPerSec)[
        Math.floor((ofShards.length - 1) / 2)
      ].at;
      const vsOne = medianOf(
        ofShards.map(({ run, at }) => ratio(at.entriesPerSec, run[0].entriesPerSec)!),
      );
      const goal = shards > 1 && scenario.perShardGoal !== undefined
        ? Math.round(scenario.perShardGoal * shards * 100) / 100
        : undefined;
      scaleRows.push(
        `| ${shards} | ${formatRate(at.entriesPerSec)} | ${formatRatio(vsOne, goal)} | ${
          formatRate(at.committedPerSec)
        } | ${at.perShard.map((n) => formatRate(n)).join(" / ")} | ${
          formatRate(at.requests)
        } | ${at.throttledByPartition} / ${at.throttledByAccount} | ${
          formatRate(at.backlogAtEnd)
        } | ${at.drainSeconds.toFixed(1)} |`,
      );
      jsonLines.push(JSON.stringify({
        scenario: scenario.name,
        shards,
        entriesPerSec: at.entriesPerSec,
        vs: { "1-shard": vsOne },
      }));
    }
    continue;
  }
  if (kind === "simulatedProduce" || kind === "simulatedConsume") {
    // Both jobs ran in every process: the median of the processes' own ratios.
    const runs = runsOf(scenario, scenario.contestants[0])!;
    const raw = medianOf(runs.map((run) => run.references!["data-tables"]!));
    const vsRaw = medianOf(
      runs.map((run) => ratio(run.entriesPerSec, run.references!["data-tables"])!),
    );
    simulatedRows.push(
      `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${formatRate(raw)} | ${
        formatRatio(vsRaw, scenario.goals?.["data-tables"])
      } | ${formatRequests(ours)} |`,
    );
    jsonLines.push(JSON.stringify({
      scenario: scenario.name,
      entriesPerSec: ours.entriesPerSec,
      vs: { "data-tables": vsRaw ?? null },
    }));
    continue;
  }
  if (driver === "azure") {
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
  selected.every((scenario) => workloadOf(scenario).driver === driver)
    ? `${minutes} min`
    : `${driver} part ${driverMinutes[driver].toFixed(1)} min of ${minutes}`;
const machine = `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ` +
  `Deno ${Deno.version.deno}`;
if (levelRows.length > 0 || memoryRows.length > 0 || followRows.length > 0 || cliRows.length > 0) {
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
if (followRows.length > 0) {
  console.log(
    "\n| following and merging | streamkit | compared with | its figure | ratio |",
  );
  console.log("|---|---:|---|---:|---:|");
  for (const row of followRows) console.log(row);
  console.log(
    "\nLatency: one producer and one follower in one process, 1-record chunks; each sample is " +
      "the time from a produce resolving (its iteration yielding the status; for Deno KV, the " +
      "atomic commit resolving) to the follower holding the decoded entry, the next record sent " +
      `only once the previous one arrived; ${
        formatSamples(WORKLOADS["level.follow.latency"].samples)
      }, the median of the runs' percentiles; ratio: Deno KV's p99 ÷ ours. Catch-up: ` +
      "follow({ spaces }) from the start to its first caught-up over the data of " +
      "level.consumeSpace; merge: one consume of 8 spaces (one segment each, written " +
      "concurrently), against the 8 consumeSpace reads one after the other (all entries ÷ their " +
      "total time). Each compared pair runs in one process, its passes alternating (a warm-up " +
      "and 5 timed each, the median pass counts); ratio: the median of the processes' ratios.",
  );
}
if (cliRows.length > 0) {
  console.log(
    "\n| streamkit command (level → level) | streamkit | start-up | compared with | its figure " +
      "| ratio | ratio less start-up |",
  );
  console.log("|---|---:|---:|---|---:|---:|---:|");
  for (const row of cliRows) console.log(row);
  console.log(
    "\nThe data of level.consumeSpace (8 segments, compacted). `streamkit copy --db level:<src> " +
      "--to level:<fresh dir>` and `streamkit export --db level:<src> --out <file>`, each run as " +
      "`deno run --allow-all cli/main.ts` in a process of its own and timed from its start to " +
      "its exit: Deno's start-up, loading the modules, opening the databases and closing them " +
      "are in its figure. The references run in the process that starts the command, the store " +
      "opened before the clock starts and closed after it stops (LevelDB allows one process at " +
      "a time): for copy, produce of the same entries (8 segments concurrently, sync: true as " +
      "the driver ships) into a fresh directory; for export, consumeSpace of the source. The " +
      "passes alternate (a warm-up and 5 timed each, the median pass counts); what was written " +
      "is checked after the clock stops; ratio: the median of the processes' ratios. Start-up: " +
      "the same command on a store of one entry per segment, run just before it in each pass " +
      "(the median); ratio less start-up: the ratio with that time taken off the command's.",
  );
}
if (
  azureRows.length > 0 || azureFollowRows.length > 0 || simulatedRows.length > 0 ||
  scaleRows.length > 0
) {
  console.log(
    `\nstreamkit azure driver on Azurite ${azuriteVersion()} (in memory, one for every run), ` +
      `${options.azureEntries.toLocaleString("en-US")} entries of 256 bytes, median of ` +
      `${options.repeat} run(s), ${machine} (${partMinutes("azure")})\n`,
  );
}
if (azureRows.length > 0) {
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
if (azureFollowRows.length > 0) {
  console.log("\n| following | streamkit | reference |");
  console.log("|---|---:|---|");
  for (const row of azureFollowRows) console.log(row);
  console.log(
    "\nLatency across two factory instances in one process (writer on one, follower on the " +
      "other, so the follower learns of commits only by polling, pollIntervalMs 250), 1-record " +
      `chunks, ${formatSamples(WORKLOADS["azure.follow.latency"].samples)}, measured as the ` +
      "level latency. No reference: no Azure library follows a table.",
  );
}
if (simulatedRows.length > 0) {
  console.log(
    "\n| through the Azure simulator | streamkit entries/s | @azure/data-tables entries/s | " +
      "vs data-tables | requests per pass (streamkit / data-tables) |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const row of simulatedRows) console.log(row);
  console.log(
    `\nThe Azure simulator (drivers/azure/_test_simulator.ts, a proxy in front of the same Azurite, ` +
      `in a worker thread of the measuring process): ${describeNetwork(RTT10)} (timers make ` +
      "it a little longer in effect). The driver and raw @azure/data-tables go through the " +
      "same simulator in one process, their passes alternating (which goes first alternates " +
      "too): the ratio is the median of the processes' own ratios. azure.produce.rtt10: one " +
      "segment, a steady stream of 90-record chunks (one produce call), against the raw " +
      "transactions of the same rows (90 creates each) sent one after the other; the store's " +
      "opening and the tables' creation and removal are outside the clock; 1 warm-up and 5 " +
      "timed passes each. azure.consumeSpace.rtt10: the data of azure.consumeSpace, written " +
      "by the driver straight to Azurite with its default shard count; consumeSpace through " +
      "the simulator against listEntities pages of 1,000 over the same table's shard " +
      "partitions of the space, all at once (as many as the layout row records), with the " +
      "driver's filter, reading every row, merging none; 3 warm-up and 15 timed passes each. " +
      "The median pass counts; requests: the simulator's count over a timed pass (the median).",
  );
}
if (scaleRows.length > 0) {
  const { scale } = WORKLOADS["azure.space.scale"];
  console.log(
    "\n| azure.space.scale: shards | entries/s into the space index | vs 1 shard | committed " +
      "entries/s | entries per shard (window) | requests (window) | throttled (partition / " +
      "account) | backlog at window end | drain s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of scaleRows) console.log(row);
  console.log(
    `\nOne space of ${scale.segments} segments, ${scale.writers} concurrent writers over ` +
      `${scale.factories} factory instances (each writer owns ${
        scale.segments / scale.writers
      } segments and streams to each of them produce calls of ${scale.chunksPerProduce} ` +
      `chunks of 90 records, one after another), a fresh store and simulator per shard ` +
      `count (spaceShards N). Simulator: ${describeNetwork(scale.network)}: Azure's targets ` +
      `(2,000 entities/s per partition, 20,000 requests/s per account) divided by ` +
      `${scale.scaledDownBy}, since Azurite on this machine could not take 8 shards at ` +
      `Azure's rates; the proportions are Azure's. Driver retries: maxRetries ` +
      `${scale.retry.maxRetries}, baseDelayMs ${scale.retry.baseDelayMs}, maxDelayMs ` +
      `${scale.retry.maxDelayMs}. Entries/s: space rows the simulator admitted into the ` +
      `space's shard partitions over ${scale.timedSeconds} s after ${scale.warmUpSeconds} s ` +
      "of warm-up (an entry is in the space only once its row is there); committed: entries " +
      "acknowledged by produce over the same window (the fanout follows behind); vs 1 shard: " +
      "the median of the runs' own ratios (goal: 0.7 × N). After the window the writers stop " +
      "and the limits are lifted so that the backlog drains (unmeasured). The other columns " +
      "are those of the median run.",
  );
}
console.log("");
for (const line of jsonLines) console.log(line);
