/**
 * The benchmark's child process, both sides: {@linkcode runChildProcess} starts one, and run as
 * a script this module is that process: one phase of one scenario of one contestant, its result
 * printed as the last stdout line, in JSON.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { collectGarbage, type Contestant, type Measured, type Places } from "./_contestant.ts";
import {
  DEFAULT_SEED,
  type Driver,
  type ScenarioName,
  type Workload,
  WORKLOADS,
} from "./_workload.ts";

/** Each contestant's module, loaded only in the child that runs it. */
const CONTESTANTS = {
  "level": () => import("./_contestant_streamkit_level.ts"),
  "classic-level": () => import("./_contestant_classic_level.ts"),
  "deno-kv": () => import("./_contestant_deno_kv.ts"),
  "azure": () => import("./_contestant_streamkit_azure.ts"),
  "data-tables": () => import("./_contestant_data_tables.ts"),
  "remote": () => import("./_contestant_streamkit_remote.ts"),
};

/**
 * The name of a contestant: streamkit's drivers are named for their driver, the references
 * for their library.
 *
 * @example
 * ```ts ignore
 * const reference: ContestantName = "classic-level";
 * ```
 */
export type ContestantName = keyof typeof CONTESTANTS;

/** The environment variable carrying the Azurite connection string to the child processes. */
const CONNECTION_STRING_ENV = "STREAMKIT_BENCH_AZURE_CONNECTION_STRING";

/**
 * Which part of a scenario a process runs: the untimed `setup` (writing the data a read
 * scenario reads), the timed `measure`, or `all` of it.
 *
 * @example
 * ```ts ignore
 * const phase: Phase = "setup";
 * ```
 */
export type Phase = "setup" | "measure" | "all";

const PHASES: readonly Phase[] = ["setup", "measure", "all"];

/**
 * `value` as a {@linkcode Phase}; anything else fails with `usage`.
 *
 * @example
 * ```ts ignore
 * const phase = parsePhase(flags.get("phase") ?? "all", USAGE);
 * ```
 */
export function parsePhase(value: string, usage: string): Phase {
  if (!PHASES.includes(value as Phase)) throw new Error(usage);
  return value as Phase;
}

/**
 * Runs `phase` of `run` on `args` and prints the child's result line: `{"setup":"done"}` after a
 * setup phase, else `result` of what was measured. The garbage of the setup (or of loading) is
 * collected before anything is measured.
 *
 * @example
 * ```ts ignore
 * await runPhase(run, args, "measure", (measured) => ({ contestant, scenario, ...measured }));
 * ```
 */
export async function runPhase<Args>(
  run: { setup?(args: Args): Promise<void>; measure(args: Args): Promise<Measured> },
  args: Args,
  phase: Phase,
  result: (measured: Measured) => unknown,
): Promise<void> {
  if (phase !== "measure") await run.setup?.(args);
  if (phase === "setup") {
    console.log(JSON.stringify({ setup: "done" }));
    return;
  }
  collectGarbage();
  console.log(JSON.stringify(result(await run.measure(args))));
}

/**
 * What a child process is asked to do.
 *
 * @example
 * ```ts ignore
 * const request: ChildRequest = {
 *   contestant: "deno-kv", scenario: "level.produce.1seg", phase: "all",
 *   entries: 1_000, seed: DEFAULT_SEED, place: { dir: "/tmp/b" },
 * };
 * ```
 */
export interface ChildRequest {
  contestant: ContestantName;
  scenario: ScenarioName;
  phase: Phase;
  entries: number;
  seed: number;
  /** A directory for a level or remote scenario, tables for an Azure one. */
  place: Places[Driver];
}

/**
 * What a child prints as its last stdout line after a measuring phase.
 *
 * @example
 * ```ts ignore
 * console.log(result.entriesPerSec);
 * ```
 */
export type ChildResult = { contestant: ContestantName; scenario: ScenarioName } & Measured;

/**
 * `value` of command-line flag `flag` as a positive integer.
 *
 * @example
 * ```ts ignore
 * const entries = positiveInteger("--entries", "5000"); // 5000
 * ```
 */
export function positiveInteger(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer`);
  return n;
}

/**
 * Runs benchmark child script `script` with `args` in a process of its own (`Deno.execPath()`,
 * the garbage collector exposed, the repository's root as working directory) and resolves to
 * its last stdout line, parsed as JSON; `what` names the child in the error when it fails.
 *
 * @example
 * ```ts ignore
 * const line = await runChildScript(new URL("./peers/_child.ts", import.meta.url), args, "x");
 * ```
 */
export async function runChildScript(
  script: URL,
  args: string[],
  what: string,
  env: Record<string, string> = {},
): Promise<unknown> {
  const root = new URL("../..", import.meta.url);
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-kv",
      "--v8-flags=--expose-gc",
      // Named, not discovered: a script in a folder with a package.json of its own (the peers
      // benchmark's) would take that folder for its root.
      "--config",
      fromFileUrl(new URL("deno.json", root)),
      fromFileUrl(script),
      ...args,
    ],
    env,
    // The repository's root: its deno.json and node_modules serve the child.
    cwd: fromFileUrl(root),
    stdout: "piped",
    stderr: "inherit",
  });
  const { code, stdout } = await command.output();
  if (code !== 0) throw new Error(`${what}: exit code ${code}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Runs `request` in a child process of its own (`Deno.execPath()`, the garbage collector
 * exposed) and resolves to its result line: a {@linkcode ChildResult}, or `{"setup":"done"}`
 * after a setup phase.
 *
 * @example
 * ```ts ignore
 * const result = await runChildProcess({ ...request, phase: "measure" }) as ChildResult;
 * ```
 */
export function runChildProcess(request: ChildRequest): Promise<unknown> {
  const { contestant, scenario, phase, entries, seed, place } = request;
  return runChildScript(
    new URL(import.meta.url),
    [
      "--contestant",
      contestant,
      "--scenario",
      scenario,
      "--phase",
      phase,
      "--entries",
      String(entries),
      "--seed",
      String(seed),
      ...("dir" in place ? ["--dir", place.dir] : ["--table-prefix", place.tablePrefix]),
    ],
    `${contestant} ${scenario} ${phase}`,
    "connectionString" in place ? { [CONNECTION_STRING_ENV]: place.connectionString } : {},
  );
}

/**
 * A child's command line (`--name value` pairs) as a lookup: `get` for an optional flag,
 * `required` for one whose absence fails with `usage`.
 *
 * @example
 * ```ts ignore
 * const flags = childFlags(Deno.args, "usage: --entries N");
 * const entries = positiveInteger("--entries", flags.required("entries"));
 * ```
 */
export function childFlags(
  args: string[],
  usage: string,
): { get(name: string): string | undefined; required(name: string): string } {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith("--") || args[i + 1] === undefined) throw new Error(usage);
    flags.set(args[i].slice(2), args[i + 1]);
  }
  return {
    get: (name) => flags.get(name),
    required: (name) => {
      const value = flags.get(name);
      if (value === undefined) throw new Error(`--${name} is missing; ${usage}`);
      return value;
    },
  };
}

const USAGE = "usage: --contestant NAME --scenario NAME --entries N [--phase setup|measure|all] " +
  "[--seed S] (--dir PATH | --table-prefix P)";

/**
 * Reads a child's request from its command line (and an Azure scenario's connection string
 * from {@linkcode CONNECTION_STRING_ENV}): the inverse of {@linkcode runChildProcess}.
 */
function parseChildRequest(args: string[]): ChildRequest {
  const flags = childFlags(args, USAGE);
  const { required } = flags;
  const contestant = required("contestant");
  if (!Object.hasOwn(CONTESTANTS, contestant)) throw new Error(`no contestant ${contestant}`);
  const scenario = required("scenario");
  if (!Object.hasOwn(WORKLOADS, scenario)) throw new Error(`no scenario ${scenario}`);
  return {
    contestant: contestant as ContestantName,
    scenario: scenario as ScenarioName,
    phase: parsePhase(flags.get("phase") ?? "all", USAGE),
    entries: positiveInteger("--entries", required("entries")),
    seed: positiveInteger("--seed", flags.get("seed") ?? String(DEFAULT_SEED)),
    place: WORKLOADS[scenario as ScenarioName].driver === "azure"
      ? { tablePrefix: required("table-prefix"), connectionString: connectionString() }
      : { dir: required("dir") },
  };
}

function connectionString(): string {
  const value = Deno.env.get(CONNECTION_STRING_ENV);
  if (!value) throw new Error(`${CONNECTION_STRING_ENV} is not set`);
  return value;
}

/**
 * Whether `contestant` runs `workload`: one of its driver's, or for the level driver a remote
 * scenario, which it runs as the embedded reference (the same job on the same place, a
 * directory, with no server in between).
 */
function runs(contestant: Contestant<Driver>, workload: Workload): boolean {
  return contestant.driver === workload.driver ||
    (contestant.driver === "level" && workload.driver === "remote");
}

/** How `contestant` runs `workload`, if it runs it at all. */
function scenarioRun(contestant: Contestant<Driver>, workload: Workload) {
  if (!runs(contestant, workload)) return undefined;
  switch (workload.kind) {
    case "produce":
      return contestant.produce(workload.segments);
    case "consume":
      return contestant.consume(workload.read);
    case "memory":
      return contestant.memory;
    case "followLatency":
      return contestant.followLatency?.(workload.samples);
    case "catchUp":
      return contestant.catchUp;
    case "processor":
      return contestant.processor;
    case "merge":
      return contestant.merge?.(workload.spaces);
    case "cli":
      return contestant.cli?.(workload.command);
    case "simulatedProduce":
      return contestant.simulatedProduce?.(workload.segments, workload.network);
    case "simulatedConsume":
      return contestant.simulatedConsume?.(workload.read, workload.network);
    case "spaceScale":
      return contestant.spaceScale?.(workload.scale);
    case "crossProcess":
      return contestant.crossProcess?.(workload.cross);
    case "followers":
      return contestant.followers?.(workload.followers);
    case "processorTakeover":
      return contestant.processorTakeover?.(workload.takeover);
  }
}

/** Runs the phase of the scenario `request` names and prints its result line. */
async function runChild({ contestant: name, scenario, phase, entries, seed, place }: ChildRequest) {
  const { contestant } = await CONTESTANTS[name]();
  const run = scenarioRun(contestant, WORKLOADS[scenario]);
  if (!run) throw new Error(`${name}: no scenario ${scenario}`);
  await runPhase(
    run,
    { entries, seed, ...place },
    phase,
    (measured): ChildResult => ({ contestant: name, scenario, ...measured }),
  );
}

if (import.meta.main) await runChild(parseChildRequest(Deno.args));
