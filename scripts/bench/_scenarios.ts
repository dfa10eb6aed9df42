/**
 * The benchmark's scenarios as `scripts/bench.ts` runs and reports them: which contestants run
 * each, and the goals its figures are held to.
 *
 * @module
 */

import type { ContestantName } from "./_child.ts";
import type { SameProcessReference } from "./_contestant.ts";
import { type ScenarioName, type Workload, WORKLOADS } from "./_workload.ts";

/**
 * What a scenario's figures are compared with: another contestant, or a job of our own timed in
 * the same process.
 *
 * @example
 * ```ts ignore
 * const reference: Reference = "classic-level";
 * ```
 */
export type Reference = ContestantName | SameProcessReference;

/**
 * A scenario of the benchmark: its workload's name, its contestants and its goals.
 *
 * @example
 * ```ts ignore
 * const scenario: Scenario = { name: "level.memory.consume500k", contestants: ["level"] };
 * ```
 */
export interface Scenario {
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
  /** A cross-process scenario's goal: each of its writers reaches this times 1 writer's rate. */
  perWriterGoal?: number;
  /** A followers scenario's goal: the most the server's resident memory may grow, in MiB. */
  maxRssGrowthMiB?: number;
  /** A takeover scenario's goal: the longest time from a kill to the next batch, in ms. */
  maxTakeoverMs?: number;
}

const LEVEL_CONTESTANTS: ContestantName[] = ["level", "classic-level", "deno-kv"];
const AZURE_CONTESTANTS: ContestantName[] = ["azure", "data-tables"];
/** The remote driver, then the level driver embedded as its reference. */
const REMOTE_CONTESTANTS: ContestantName[] = ["remote", "level"];

const { cross: CROSS_PROCESS } = WORKLOADS["azure.follow.crossProcess"];
const { takeover: TAKEOVER } = WORKLOADS["azure.processor.takeover"];

const LEVEL_PRODUCE_GOALS = { "classic-level": 0.7, "deno-kv": 2 };
const LEVEL_CONSUME_GOALS = { "classic-level": 0.6, "deno-kv": 1.2 };

/** A scenario of the level contestant alone, compared with a job timed in its own process. */
function sameProcess(
  name: ScenarioName,
  reference: SameProcessReference,
  goal: number,
  comparedWith: string,
): Scenario {
  return { name, contestants: ["level"], goals: { [reference]: goal }, comparedWith };
}

/**
 * Every scenario, in the order the benchmark runs and reports them.
 *
 * @example
 * ```ts ignore
 * for (const scenario of SCENARIOS) console.log(scenario.name);
 * ```
 */
export const SCENARIOS: readonly Scenario[] = [
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
  sameProcess(
    "level.follow.catchup",
    "consumeSpace",
    0.9,
    "consumeSpace of the same space, same process",
  ),
  sameProcess(
    "level.processor.throughput",
    "follow",
    0.9,
    "a plain follow of the same space to caught-up, same process",
  ),
  sameProcess(
    "level.consume.merge8",
    "consumeSpace",
    0.7,
    "consumeSpace of each space in turn, same process",
  ),
  // The command is timed whole, start-up included (some 0.15 s, measured and shown apart).
  sameProcess(
    "cli.copy.level",
    "produce",
    0.5,
    "produce of the same entries (8 segments concurrently), same process",
  ),
  sameProcess(
    "cli.export.level",
    "consumeSpace",
    0.5,
    "consumeSpace of the same space, same process",
  ),
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
  // per chunk, as the raw transactions do. The raw library runs in the same process, its passes
  // alternating with the driver's.
  { name: "azure.produce.rtt10", contestants: ["azure"], goals: { "data-tables": 0.8 } },
  { name: "azure.consumeSpace.rtt10", contestants: ["azure"], goals: { "data-tables": 0.8 } },
  // Under the simulator's partition limits: the 1-shard rate is the reference, of the same run.
  { name: "azure.space.scale", contestants: ["azure"], perShardGoal: 0.7 },
  // Another process's commit reaches a follower once it is past the allowance (the driver's
  // maxClockSkewMs), by the next poll (at most pollIntervalMs away) and a read of a few round
  // trips: p99 at most 500 + 1,000 + 3 × 10 ms. Four writers on one Azurite should each write
  // about as fast as one alone.
  {
    name: "azure.follow.crossProcess",
    contestants: ["azure"],
    maxP99Ms: CROSS_PROCESS.allowanceMs + CROSS_PROCESS.pollIntervalMs +
      3 * CROSS_PROCESS.network.latencyMs,
    perWriterGoal: 0.8,
  },
  // The next holder takes the lease once it expired (at most the ttl after the last renewal)
  // and is handed a batch within a second of that.
  {
    name: "azure.processor.takeover",
    contestants: ["azure"],
    maxTakeoverMs: TAKEOVER.ttlMs + 1_000,
  },
  // The remote driver through a server process on 127.0.0.1 (the level driver behind it),
  // against the level driver embedded (the "level" contestant, in a process of its own): what
  // the wire costs. The level driver syncs every chunk, which bounds both produces.
  { name: "remote.produce.1seg", contestants: REMOTE_CONTESTANTS, goals: { level: 0.6 } },
  { name: "remote.consumeSpace", contestants: REMOTE_CONTESTANTS, goals: { level: 0.5 } },
  // Two loopback hops (the produce request, the follow's response) and the server's process
  // between the writer and the follower; the embedded level figure is shown beside it.
  {
    name: "remote.follow.latency",
    contestants: REMOTE_CONTESTANTS,
    maxP99Ms: 5,
    comparedWith: "the level driver embedded (producer and follower on one store)",
  },
  { name: "remote.followers.1000", contestants: ["remote"], maxP99Ms: 100, maxRssGrowthMiB: 200 },
];

/**
 * The workload `scenario` runs.
 *
 * @example
 * ```ts ignore
 * console.log(workloadOf(SCENARIOS[0]).driver); // "level"
 * ```
 */
export function workloadOf(scenario: Scenario): Workload {
  return WORKLOADS[scenario.name];
}

/**
 * Whether `--only` entry `name` selects `scenario`: its name, or a leading part of it.
 *
 * @example
 * ```ts ignore
 * console.log(selects("azure", SCENARIOS[0])); // false
 * ```
 */
export function selects(name: string, scenario: Scenario): boolean {
  return scenario.name === name || scenario.name.startsWith(`${name}.`);
}
