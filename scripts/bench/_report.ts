/**
 * The benchmark's report: the rows of its markdown tables and its JSON lines, from the results
 * of every run (`_report_level.ts`, `_report_azure.ts` and `_report_remote.ts` print the tables;
 * the last also builds the remote rows).
 *
 * @module
 */

import type { ChildResult, ContestantName } from "./_child.ts";
import { COMMAND_REFERENCES, type SameProcessReference } from "./_contestant.ts";
import {
  formatLatency,
  formatMaxP99,
  formatRate,
  formatRatio,
  formatRequests,
  median,
  medianLatency,
  medianOf,
  ratio,
  shardResults,
  writersResults,
} from "./_report_format.ts";
import { processorTakeoverReport } from "./_report_azure.ts";
import { remoteReporterOf } from "./_report_remote.ts";
import { type Scenario, workloadOf } from "./_scenarios.ts";
import type { Workload } from "./_workload.ts";

/**
 * The rows of each table of the report, in the order of the scenarios.
 *
 * @example
 * ```ts ignore
 * for (const row of rows.level) console.log(row);
 * ```
 */
export interface ReportRows {
  /** The level scenarios against classic-level and Deno KV. */
  level: string[];
  memory: string[];
  /** Following and merging on level. */
  follow: string[];
  /** The `streamkit` command. */
  cli: string[];
  /** The Azure scenarios against @azure/data-tables. */
  azure: string[];
  azureFollow: string[];
  /** Through the Azure simulator. */
  simulated: string[];
  /** `azure.space.scale`, a row per shard count. */
  scale: string[];
  /** `azure.follow.crossProcess`, a row per writer count. */
  crossProcess: string[];
  /** `azure.processor.takeover`. */
  takeover: string[];
  /** The remote scenarios against the level driver embedded. */
  remote: string[];
  remoteFollow: string[];
  /** `remote.followers.1000`. */
  remoteFollowers: string[];
}

/**
 * What the tables' headings say of the run.
 *
 * @example
 * ```ts ignore
 * const run: RunDescription = { entries: 100_000, azureEntries: 5_000, repeat: 3, machine, minutes };
 * ```
 */
export interface RunDescription {
  entries: number;
  azureEntries: number;
  repeat: number;
  /** The OS, CPUs and Deno version. */
  machine: string;
  /** How long the scenarios of a driver took, as the heading says it. */
  minutes(driver: Workload["driver"]): string;
}

/**
 * The runs of one contestant of one scenario, if it ran.
 *
 * @example
 * ```ts ignore
 * const runsOf: RunsOf = (scenario, contestant) => results.get(`${scenario.name}/${contestant}`);
 * ```
 */
export type RunsOf = (scenario: Scenario, contestant: ContestantName) => ChildResult[] | undefined;

/**
 * Adds a scenario's rows and JSON lines to the report.
 *
 * @example
 * ```ts ignore
 * const report: ReportScenario = (scenario, runsOf, rows, jsonLines) => rows.remote.push("| |");
 * ```
 */
export type ReportScenario = (
  scenario: Scenario,
  runsOf: RunsOf,
  rows: ReportRows,
  jsonLines: string[],
) => void;

/** A scenario's JSON line: our throughput, and our ratio to each reference (`null`: none). */
function throughputLine(
  scenario: Scenario,
  entriesPerSec: number,
  vs: Record<string, number | null>,
): string {
  return JSON.stringify({ scenario: scenario.name, entriesPerSec, vs });
}

/** The median run of `contestant`, if it ran. */
function medianRun(runsOf: RunsOf, scenario: Scenario, contestant: ContestantName) {
  const runs = runsOf(scenario, contestant);
  return runs && median(runs);
}

const followLatency: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianLatency(runsOf(scenario, scenario.contestants[0])!);
  const oursCell = `${formatLatency(ours)}${formatMaxP99(ours.p99Ms, scenario.maxP99Ms)}`;
  if (workloadOf(scenario).driver === "azure") {
    rows.azureFollow.push(`| ${scenario.name} | ${oursCell} | none |`);
    jsonLines.push(JSON.stringify({ scenario: scenario.name, ...ours }));
    return;
  }
  const kvRuns = runsOf(scenario, "deno-kv");
  const kv = kvRuns && medianLatency(kvRuns);
  // The reference's p99 over ours: above 1, ours is the lower.
  const vsKv = kv && ratio(kv.p99Ms, ours.p99Ms);
  rows.follow.push(
    `| ${scenario.name} | ${oursCell} | ${scenario.comparedWith} | ${
      kv ? formatLatency(kv) : "–"
    } | ${formatRatio(vsKv, scenario.goals?.["deno-kv"])} (p99) |`,
  );
  jsonLines.push(JSON.stringify({
    scenario: scenario.name,
    ...ours,
    vs: { "deno-kv": vsKv ?? null },
  }));
};

/** Catch-up, merge and the command: compared with a job timed in the same process. */
const comparedInProcess: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const workload = workloadOf(scenario);
  const ours = medianRun(runsOf, scenario, scenario.contestants[0])!;
  // Both jobs ran in every process: the median of the processes' own ratios.
  const name: SameProcessReference = workload.kind === "cli"
    ? COMMAND_REFERENCES[workload.command]
    : workload.kind === "processor"
    ? "follow"
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
      runs.map((run) => ratio(run.entries / (run.seconds - startup(run)), run.references![name])!),
    );
    cells.splice(1, 0, `${medianOf(runs.map(startup)).toFixed(2)} s`);
    cells.push(`${lessStartup.toFixed(2)}×`);
  }
  (workload.kind === "cli" ? rows.cli : rows.follow).push(
    `| ${scenario.name} | ${cells.join(" | ")} |`,
  );
  jsonLines.push(throughputLine(scenario, ours.entriesPerSec, { [name]: vsReference }));
};

const memory: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianRun(runsOf, scenario, scenario.contestants[0])!;
  const details = ours.details as Record<string, Record<string, number>>;
  for (const read of ["consumeSpace", "consumeSegment"]) {
    const d = details[read];
    rows.memory.push(
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
};

const spaceScale: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const workload = workloadOf(scenario);
  if (workload.kind !== "spaceScale") throw new Error(`${scenario.name}: not a scaling scenario`);
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
    rows.scale.push(
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
};

const crossProcess: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const runs = runsOf(scenario, scenario.contestants[0])!.map(writersResults);
  // The measured run (writers on one space) against 1 writer, and against as many writers each
  // on a space of its own (the same load on the host): the medians of the runs' own ratios.
  const vsOne = medianOf(
    runs.map((run) =>
      ratio(run[0].entriesPerSecPerWriter, run[run.length - 1].entriesPerSecPerWriter)!
    ),
  );
  const vsOwn = medianOf(
    runs.map((run) => ratio(run[0].entriesPerSecPerWriter, run[1].entriesPerSecPerWriter)!),
  );
  for (const [index, { writers, spaces }] of runs[0].entries()) {
    const ofWriters = runs.map((run) => run[index]);
    // The percentiles' medians; the other columns are those of the median run by rate.
    const latency = {
      p50Ms: medianOf(ofWriters.map((at) => at.p50Ms)),
      p99Ms: medianOf(ofWriters.map((at) => at.p99Ms)),
    };
    const at = [...ofWriters].sort((a, b) => a.entriesPerSecPerWriter - b.entriesPerSecPerWriter)[
      Math.floor((ofWriters.length - 1) / 2)
    ];
    // The first run is the one measured, the last the reference (1 writer).
    const measured = index === 0;
    rows.crossProcess.push(
      `| ${writers}, ${spaces === "own" ? "own spaces" : "one space"} | ${formatLatency(latency)}${
        measured ? formatMaxP99(latency.p99Ms, scenario.maxP99Ms) : ""
      } | ${at.maxMs.toFixed(0)} ms | ${formatRate(at.entriesPerSecPerWriter)} (${
        at.perWriter.map((rate) => formatRate(rate)).join(" / ")
      }) | ${measured ? formatRatio(vsOne, scenario.perWriterGoal) : "–"} | ${
        measured ? formatRatio(vsOwn, scenario.perWriterGoal) : "–"
      } | ${at.cpuBusy < 0 ? "–" : `${Math.round(at.cpuBusy * 100)}%`} | ${
        formatRate(at.entries)
      } in ${at.writeSeconds.toFixed(1)} s | ${at.arrivedFirst} |`,
    );
    if (measured) {
      jsonLines.push(JSON.stringify({
        scenario: scenario.name,
        writers,
        ...latency,
        entriesPerSecPerWriter: at.entriesPerSecPerWriter,
        vs: { "1-writer": vsOne, "own-spaces": vsOwn },
      }));
    }
  }
};

const simulated: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianRun(runsOf, scenario, scenario.contestants[0])!;
  // Both jobs ran in every process: the median of the processes' own ratios.
  const runs = runsOf(scenario, scenario.contestants[0])!;
  const raw = medianOf(runs.map((run) => run.references!["data-tables"]!));
  const vsRaw = medianOf(
    runs.map((run) => ratio(run.entriesPerSec, run.references!["data-tables"])!),
  );
  rows.simulated.push(
    `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${formatRate(raw)} | ${
      formatRatio(vsRaw, scenario.goals?.["data-tables"])
    } | ${formatRequests(ours)} |`,
  );
  jsonLines.push(throughputLine(scenario, ours.entriesPerSec, { "data-tables": vsRaw ?? null }));
};

/** Produce and consume on Azure, against @azure/data-tables. */
const azureThroughput: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianRun(runsOf, scenario, scenario.contestants[0])!;
  const raw = medianRun(runsOf, scenario, "data-tables");
  const vsRaw = ratio(ours.entriesPerSec, raw?.entriesPerSec);
  rows.azure.push(
    `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${formatRate(raw?.entriesPerSec)} | ${
      formatRatio(vsRaw, scenario.goals?.["data-tables"])
    } |`,
  );
  jsonLines.push(throughputLine(scenario, ours.entriesPerSec, { "data-tables": vsRaw ?? null }));
};

/** Produce and consume on level, against classic-level and Deno KV. */
const levelThroughput: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianRun(runsOf, scenario, scenario.contestants[0])!;
  const raw = medianRun(runsOf, scenario, "classic-level");
  const kv = medianRun(runsOf, scenario, "deno-kv");
  const vsRaw = ratio(ours.entriesPerSec, raw?.entriesPerSec);
  const vsKv = ratio(ours.entriesPerSec, kv?.entriesPerSec);
  rows.level.push(
    `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${formatRate(raw?.entriesPerSec)} | ${
      formatRate(kv?.entriesPerSec)
    } | ${formatRatio(vsRaw, scenario.goals?.["classic-level"])} | ${
      formatRatio(vsKv, scenario.goals?.["deno-kv"])
    } |`,
  );
  jsonLines.push(
    throughputLine(scenario, ours.entriesPerSec, {
      "classic-level": vsRaw ?? null,
      "deno-kv": vsKv ?? null,
    }),
  );
};

/** How each kind of workload is reported. */
function reporterOf({ kind, driver }: Workload): ReportScenario {
  if (driver === "remote") return remoteReporterOf(kind);
  switch (kind) {
    case "followLatency":
      return followLatency;
    case "catchUp":
    case "processor":
    case "merge":
    case "cli":
      return comparedInProcess;
    case "memory":
      return memory;
    case "spaceScale":
      return spaceScale;
    case "crossProcess":
      return crossProcess;
    case "processorTakeover":
      return processorTakeoverReport;
    case "simulatedProduce":
    case "simulatedConsume":
      return simulated;
    default:
      return driver === "azure" ? azureThroughput : levelThroughput;
  }
}

/**
 * The report of `selected`'s runs: the rows of each table, and one JSON line per scenario (per
 * shard count for `azure.space.scale`).
 *
 * @example
 * ```ts ignore
 * const { rows, jsonLines } = buildReport(selected, (scenario, contestant) => runs(scenario, contestant));
 * ```
 */
export function buildReport(
  selected: readonly Scenario[],
  runsOf: RunsOf,
): { rows: ReportRows; jsonLines: string[] } {
  const rows: ReportRows = {
    level: [],
    memory: [],
    follow: [],
    cli: [],
    azure: [],
    azureFollow: [],
    simulated: [],
    scale: [],
    crossProcess: [],
    takeover: [],
    remote: [],
    remoteFollow: [],
    remoteFollowers: [],
  };
  const jsonLines: string[] = [];
  for (const scenario of selected) {
    reporterOf(workloadOf(scenario))(scenario, runsOf, rows, jsonLines);
  }
  return { rows, jsonLines };
}
