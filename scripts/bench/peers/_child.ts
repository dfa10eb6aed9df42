/**
 * The peers benchmark's child process, both sides, as `../_child.ts` is the main benchmark's:
 * {@linkcode runPeerChild} starts one, and run as a script this module is that process.
 *
 * @module
 */

import {
  childFlags,
  parsePhase,
  type Phase,
  positiveInteger,
  runChildScript,
  runPhase,
} from "../_child.ts";
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
  phase: Phase;
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
  return {
    contestant: contestant as PeerContestantName,
    scenario: scenario as PeerScenario,
    phase: parsePhase(required("phase"), USAGE),
    entries: positiveInteger("--entries", required("entries")),
    seed: positiveInteger("--seed", required("seed")),
    dir: required("dir"),
  };
}

/** Runs the phase of the scenario `request` names and prints its result line. */
async function runChild({ contestant: name, scenario, phase, ...args }: PeerRequest) {
  const run = (await CONTESTANTS[name]())[scenario];
  await runPhase(
    run,
    args,
    phase,
    (measured): PeerResult => ({ contestant: name, scenario, ...measured }),
  );
}

if (import.meta.main) await runChild(parsePeerRequest(Deno.args));
