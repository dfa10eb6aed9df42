/**
 * `deno task bench`: every scenario of every contestant in a process of its own, then the report
 * (markdown tables and one JSON line per scenario). Scenarios, flags and the layout of
 * `scripts/bench/`: scripts/bench/README.md.
 *
 * @module
 */

import { TableServiceClient } from "@azure/data-tables";
import { type Azurite, startAzurite } from "../drivers/azure/_test_support.ts";
import {
  type ChildRequest,
  type ChildResult,
  type ContestantName,
  runChildProcess,
} from "./bench/_child.ts";
import { parseOptions, USAGE } from "./bench/_options.ts";
import { buildReport } from "./bench/_report.ts";
import { printAzureTables } from "./bench/_report_azure.ts";
import { describeResult } from "./bench/_report_format.ts";
import { printLevelTables } from "./bench/_report_level.ts";
import { printRemoteTables } from "./bench/_report_remote.ts";
import { type Scenario, SCENARIOS, selects, workloadOf } from "./bench/_scenarios.ts";
import { type Driver, hasSetup } from "./bench/_workload.ts";

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
 * Runs one contestant's scenario on a fresh directory (level, remote) or fresh tables: in one
 * child process, or for a read scenario a setup process writing the data and then a fresh
 * process timing the reads.
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

const options = parseOptions(Deno.args);
if (options === undefined) {
  console.log(USAGE);
  Deno.exit(0);
}
const selected = SCENARIOS.filter((scenario) =>
  options.only === undefined || [...options.only].some((name) => selects(name, scenario))
);
const results = new Map<string, ChildResult[]>();
const started = performance.now();

const entriesOf = (scenario: Scenario) => {
  const workload = workloadOf(scenario);
  if (workload.kind === "followLatency") return workload.samples.timed;
  if (workload.kind === "memory") return options.memoryEntries;
  if (workload.kind === "followers") return workload.followers.commits.timed;
  return workload.driver === "azure" ? options.azureEntries : options.entries;
};

// One Azurite for every Azure scenario, shared by their processes; each run has tables of its own.
const azurite = selected.some((scenario) => workloadOf(scenario).driver === "azure")
  ? await startAzurite()
  : undefined;
/** Minutes each driver's scenarios took, over every round. */
const driverMinutes: Record<Driver, number> = { level: 0, azure: 0, remote: 0 };
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

const minutes = ((performance.now() - started) / 60_000).toFixed(1);
const partMinutes = (driver: Driver) =>
  selected.every((scenario) => workloadOf(scenario).driver === driver)
    ? `${minutes} min`
    : `${driver} part ${driverMinutes[driver].toFixed(1)} min of ${minutes}`;
const machine = `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ` +
  `Deno ${Deno.version.deno}`;
const { rows, jsonLines } = buildReport(selected, runsOf);
const run = { ...options, machine, minutes: partMinutes };
printLevelTables(rows, run);
printAzureTables(rows, run);
printRemoteTables(rows, run);
console.log("");
for (const line of jsonLines) console.log(line);
