/**
 * The peers benchmark's child process, both sides, as `../_child.ts` is the main benchmark's:
 * {@linkcode runPeerChild} starts one (from `bench_peers.ts`, through `../_child.ts`'s
 * {@linkcode runChildScript}), and run as a script this module is that process: it runs one
 * phase of one scenario of one contestant and prints the result as its last stdout line.
 *
 * Command line: `--contestant NAME --scenario NAME --phase setup|measure|all --entries N
 * --seed S --dir PATH`.
 *
 * @module
 */

import { childFlags, positiveInteger, runChildScript } from "../_child.ts";
import { collectGarbage } from "../_contestant.ts";
import {
  PEER_SCENARIOS,
  type PeerArgs,
  type PeerContestant,
  type PeerContestantName,
  type PeerResult,
  type PeerScenario,
} from "./_workload.ts";

/** Each contestant, loaded only in the child that runs it. */
const CONTESTANTS: Record<PeerContestantName, () => Promise<PeerContestant>> = {
  "level": async () => (await import("./_contestant_streamkit.ts")).level,
  "memory": async () => (await import("./_contestant_streamkit.ts")).memory,
  "emmett-sqlite": async () => (await import("./_contestant_emmett.ts")).emmettSqlite,
  "emmett-memory": async () => (await import("./_contestant_emmett.ts")).emmettMemory,
};

/**
 * Which part of a scenario a process runs: the untimed `setup` (appending what a read
 * scenario reads), the timed `measure`, or `all` of it.
 *
 * @example
 * ```ts ignore
 * const phase: PeerPhase = "all";
 * ```
 */
export type PeerPhase = "setup" | "measure" | "all";

const PHASES: readonly PeerPhase[] = ["setup", "measure", "all"];

/**
 * What a peers child is asked to do.
 *
 * @example
 * ```ts ignore
 * const request: PeerRequest = {
 *   contestant: "emmett-sqlite", scenario: "readAll", phase: "setup",
 *   entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/p",
 * };
 * ```
 */
export type PeerRequest = {
  contestant: PeerContestantName;
  scenario: PeerScenario;
  phase: PeerPhase;
} & PeerArgs;

const USAGE = "usage: --contestant NAME --scenario NAME --phase setup|measure|all --entries N " +
  "--seed S --dir PATH";

/**
 * Runs `request` in a child process of its own and resolves to its result line: a
 * {@linkcode PeerResult}, or `{"setup":"done"}` after a setup phase.
 *
 * @example
 * ```ts ignore
 * const result = await runPeerChild({ ...request, phase: "measure" }) as PeerResult;
 * ```
 */
export function runPeerChild(request: PeerRequest): Promise<unknown> {
  const { contestant, scenario, phase, entries, seed, dir } = request;
  return runChildScript(
    new URL(import.meta.url),
    [
      ...["--contestant", contestant, "--scenario", scenario, "--phase", phase],
      ...["--entries", String(entries), "--seed", String(seed), "--dir", dir],
    ],
    `${contestant} ${scenario} ${phase}`,
  );
}

/** Reads a child's request from its command line: the inverse of {@linkcode runPeerChild}. */
function parsePeerRequest(args: string[]): PeerRequest {
  const { required } = childFlags(args, USAGE);
  const contestant = required("contestant");
  if (!Object.hasOwn(CONTESTANTS, contestant)) throw new Error(`no contestant ${contestant}`);
  const scenario = required("scenario");
  if (!PEER_SCENARIOS.includes(scenario as PeerScenario)) {
    throw new Error(`no scenario ${scenario}`);
  }
  const phase = required("phase");
  if (!PHASES.includes(phase as PeerPhase)) throw new Error(USAGE);
  return {
    contestant: contestant as PeerContestantName,
    scenario: scenario as PeerScenario,
    phase: phase as PeerPhase,
    entries: positiveInteger("--entries", required("entries")),
    seed: positiveInteger("--seed", required("seed")),
    dir: required("dir"),
  };
}

/**
 * Runs the phase of the scenario `request` names and prints its result line; the garbage of
 * the setup (or of loading) is collected before anything is measured.
 */
async function runChild({ contestant: name, scenario, phase, ...args }: PeerRequest) {
  const run = (await CONTESTANTS[name]())[scenario];
  if (phase !== "measure") await run.setup?.(args);
  if (phase === "setup") {
    console.log(JSON.stringify({ setup: "done" }));
    return;
  }
  collectGarbage();
  const result: PeerResult = { contestant: name, scenario, ...await run.measure(args) };
  console.log(JSON.stringify(result));
}

if (import.meta.main) await runChild(parsePeerRequest(Deno.args));
