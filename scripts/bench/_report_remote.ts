/**
 * The remote scenarios in the benchmark's report: their rows and JSON lines, and their tables
 * with their notes (throughput and latency against the level driver embedded, and many
 * followers of one server).
 *
 * @module
 */

import type { ChildResult } from "./_child.ts";
import type { FollowersDetails } from "./_remote_followers.ts";
import type { ReportRows, ReportScenario, RunDescription } from "./_report.ts";
import {
  formatLatency,
  formatMaxP99,
  formatRate,
  formatRatio,
  formatSamples,
  median,
  medianLatency,
  medianOf,
  printTable,
  ratio,
} from "./_report_format.ts";
import { SCENARIOS } from "./_scenarios.ts";
import { type Workload, WORKLOADS } from "./_workload.ts";

/** Produce and consume through the server, against the level driver embedded. */
const remoteThroughput: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = median(runsOf(scenario, scenario.contestants[0])!);
  const levelRuns = runsOf(scenario, "level");
  const embedded = levelRuns && median(levelRuns);
  const vsLevel = ratio(ours.entriesPerSec, embedded?.entriesPerSec);
  rows.remote.push(
    `| ${scenario.name} | ${formatRate(ours.entriesPerSec)} | ${
      formatRate(embedded?.entriesPerSec)
    } | ${formatRatio(vsLevel, scenario.goals?.level)} |`,
  );
  jsonLines.push(JSON.stringify({
    scenario: scenario.name,
    entriesPerSec: ours.entriesPerSec,
    vs: { level: vsLevel ?? null },
  }));
};

/** From a produce on one client to its delivery on another, against the level driver embedded. */
const remoteLatency: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const ours = medianLatency(runsOf(scenario, scenario.contestants[0])!);
  const levelRuns = runsOf(scenario, "level");
  const embedded = levelRuns && medianLatency(levelRuns);
  // The reference's p99 over ours: above 1, ours is the lower.
  const vsLevel = embedded && ratio(embedded.p99Ms, ours.p99Ms);
  rows.remoteFollow.push(
    `| ${scenario.name} | ${formatLatency(ours)}${formatMaxP99(ours.p99Ms, scenario.maxP99Ms)} | ${
      scenario.comparedWith ?? "–"
    } | ${embedded ? formatLatency(embedded) : "–"} | ${formatRatio(vsLevel, undefined)} (p99) |`,
  );
  jsonLines.push(
    JSON.stringify({ scenario: scenario.name, ...ours, vs: { level: vsLevel ?? null } }),
  );
};

function followersDetails(result: ChildResult): FollowersDetails {
  return result.details as unknown as FollowersDetails;
}

/** Many idle followers of one server: latency to all of them, and the server's memory. */
const remoteFollowers: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const runs = runsOf(scenario, scenario.contestants[0])!;
  const latency = medianLatency(runs);
  // Each figure is the median of the runs'.
  const of = (figure: keyof FollowersDetails) =>
    medianOf(runs.map((run) => followersDetails(run)[figure]));
  const growth = of("rssGrowthMiB");
  const maxGrowth = scenario.maxRssGrowthMiB;
  const growthMark = maxGrowth === undefined
    ? ""
    : growth <= maxGrowth
    ? " ✓"
    : ` ✗ (goal ≤ ${maxGrowth} MiB)`;
  const { followers, factories, commits } = followersDetails(runs[0]);
  rows.remoteFollowers.push(
    `| ${formatRate(followers)} over ${factories} | ${commits} | ${formatLatency(latency)}${
      formatMaxP99(latency.p99Ms, scenario.maxP99Ms)
    } | ${of("allDeliveredP50Ms").toFixed(2)} / ${of("allDeliveredMaxMs").toFixed(2)} ms | ${
      of("attachSeconds").toFixed(2)
    } s | ${of("rssBeforeMiB")} → ${of("rssAttachedMiB")} MiB | ${growth} MiB${growthMark} | ${
      of("rssAfterCommitsMiB")
    } (${of("rssPeakMiB")}) MiB | ${of("serverCpuSeconds").toFixed(2)} / ${
      of("clientCpuSeconds").toFixed(2)
    } s of ${of("timedSeconds").toFixed(2)} s |`,
  );
  jsonLines.push(JSON.stringify({
    scenario: scenario.name,
    followers,
    ...latency,
    allDeliveredMaxMs: of("allDeliveredMaxMs"),
    rssGrowthMiB: growth,
  }));
};

/**
 * How each kind of remote workload is reported.
 *
 * @example
 * ```ts ignore
 * remoteReporterOf(workloadOf(scenario).kind)(scenario, runsOf, rows, jsonLines);
 * ```
 */
export function remoteReporterOf(kind: Workload["kind"]): ReportScenario {
  switch (kind) {
    case "produce":
    case "consume":
      return remoteThroughput;
    case "followLatency":
      return remoteLatency;
    case "followers":
      return remoteFollowers;
    default:
      throw new Error(`no report of a remote ${kind} scenario`);
  }
}

/**
 * Prints the remote tables that have rows, under one heading.
 *
 * @example
 * ```ts ignore
 * printRemoteTables(rows, run);
 * ```
 */
export function printRemoteTables(rows: ReportRows, run: RunDescription): void {
  const { followers } = WORKLOADS["remote.followers.1000"];
  const followersGoals = SCENARIOS.find((scenario) => scenario.name === "remote.followers.1000");
  if (rows.remote.length > 0 || rows.remoteFollow.length > 0 || rows.remoteFollowers.length > 0) {
    console.log(
      `\nstreamkit remote driver, a server process on 127.0.0.1 (the level driver behind it), ` +
        `${run.entries.toLocaleString("en-US")} entries of 256 bytes, median of ${run.repeat} ` +
        `run(s), ${run.machine} (${run.minutes("remote")})\n`,
    );
  }
  printTable(
    rows.remote,
    "| scenario | remote entries/s | level embedded entries/s | vs level embedded |",
    "|---|---:|---:|---:|",
    "\nRemote: RemoteStoreFactory in the measuring process, createStoreHandler on a " +
      "LevelStoreFactory in a server process of its own (Deno.serve on 127.0.0.1, port 0, no " +
      "authentication), both started before the clock starts, the store opened through the " +
      "client first. Level embedded: the level contestant's own scenario (LevelStoreFactory in " +
      "the measuring process, no server), in a process of its own. Produce: one segment, one " +
      "produce call, timed once (the server's level driver cuts the same 10,000-record chunks, " +
      "sync: true). consumeSpace: the data of level.consumeSpace (8 segments), written by the " +
      "level driver straight to the directory and compacted by a setup process; a fresh " +
      "process times 5 passes, the median pass counts.",
  );
  printTable(
    rows.remoteFollow,
    "\n| following | remote | compared with | its figure | ratio |",
    "|---|---:|---|---:|---:|",
    "\nLatency: a producer on one RemoteStoreFactory and a follower (follow of the space) on " +
      "another, both in the measuring process, the server in its own; 1-record chunks; each " +
      "sample is the time from a produce resolving (its iteration yielding the status) to the " +
      "follower holding the decoded entry, the next record sent only once the previous one " +
      `arrived; ${
        formatSamples(WORKLOADS["remote.follow.latency"].samples)
      }, the median of the runs' percentiles; ratio: the embedded level's p99 ÷ ours (the ` +
      "level contestant measuring level.follow.latency's way with the same samples).",
  );
  printTable(
    rows.remoteFollowers,
    "\n| remote.followers.1000: followers (client factories) | commits | commit to delivery " +
      "(each follower) | until all delivered p50 / max | attach | server RSS before → " +
      "attached | growth | server RSS after the commits (peak) | CPU server / client in the " +
      "commits |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    `\n${formatRate(followers.followers)} follows of one space (empty, from its start) over ` +
      `${followers.factories} RemoteStoreFactory instances in the measuring process, each ` +
      "follow one HTTP stream to a server process of its own (default limits: " +
      "maxStreamsPerToken 1,024, the writer's produce stream included); attach: from the " +
      "first follow call until every follow said caught-up. Server RSS: VmRSS of " +
      "/proc/<pid>/status 0.5 s after the writer's first commit (elsewhere) and 0.5 s after " +
      `every follow caught up (goal: growth ≤ ${followersGoals?.maxRssGrowthMiB} MiB), after ` +
      `the commits, and VmHWM then (peak). Then ${followers.commits.timed} single-record produces (after ` +
      `${followers.commits.warmUp} untimed) through another factory, one after the other, ` +
      "each awaited at every follower: latency from the produce resolving to each follower's " +
      `delivery, ${formatRate(followers.followers * followers.commits.timed)} samples (goal: ` +
      `p99 ≤ ${followersGoals?.maxP99Ms} ms); until all delivered: per commit, to the last ` +
      "follower's delivery. CPU: user and system time of the server process and of the " +
      "measuring process (the follows' side) over the timed commits (/proc/<pid>/stat). " +
      "Medians over the runs.",
  );
}
