/**
 * The Azure tables of the benchmark's report, with their notes: throughput against
 * @azure/data-tables, following, the scenarios through the Azure simulator, a space's
 * throughput by shard count, following writer processes, and a processor's takeover.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { TakeoverDetails } from "./_processor_takeover.ts";
import type { ReportRows, ReportScenario, RunDescription } from "./_report.ts";
import { describeNetwork, formatSamples, medianOf, printTable } from "./_report_format.ts";
import { SCENARIOS } from "./_scenarios.ts";
import { RTT10, WORKLOADS } from "./_workload.ts";

function azuriteVersion(): string {
  try {
    const url = new URL("../../node_modules/azurite/package.json", import.meta.url);
    return (JSON.parse(readFileSync(fromFileUrl(url), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

/**
 * `azure.processor.takeover`: each kill's time to the next batch, over all runs (median and
 * longest), against the goal.
 *
 * @example
 * ```ts ignore
 * processorTakeoverReport(scenario, runsOf, rows, jsonLines);
 * ```
 */
export const processorTakeoverReport: ReportScenario = (scenario, runsOf, rows, jsonLines) => {
  const runs = runsOf(scenario, scenario.contestants[0])!
    .map((run) => run.details as unknown as TakeoverDetails);
  const takeovers = runs.flatMap((run) => run.takeoversMs).sort((a, b) => a - b);
  const longest = takeovers.at(-1)!;
  const goal = scenario.maxTakeoverMs;
  const mark = goal === undefined ? "" : longest <= goal ? " ✓" : ` ✗ (goal ≤ ${goal} ms)`;
  rows.takeover.push(
    `| ${runs[0].ttlMs.toLocaleString("en-US")} ms | ${takeovers.length} | ${
      Math.round(medianOf(takeovers)).toLocaleString("en-US")
    } ms | ${Math.round(takeovers[0]).toLocaleString("en-US")} ms | ${
      Math.round(longest).toLocaleString("en-US")
    } ms${mark} |`,
  );
  jsonLines.push(JSON.stringify({
    scenario: scenario.name,
    ttlMs: runs[0].ttlMs,
    kills: takeovers.length,
    takeoverMedianMs: Math.round(medianOf(takeovers)),
    takeoverMaxMs: Math.round(longest),
  }));
};

/**
 * Prints the Azure tables that have rows, under one heading.
 *
 * @example
 * ```ts ignore
 * printAzureTables(rows, run);
 * ```
 */
export function printAzureTables(rows: ReportRows, run: RunDescription): void {
  const { scale } = WORKLOADS["azure.space.scale"];
  const { cross } = WORKLOADS["azure.follow.crossProcess"];
  const crossGoals = SCENARIOS.find((scenario) => scenario.name === "azure.follow.crossProcess");
  if (
    rows.azure.length > 0 || rows.azureFollow.length > 0 || rows.simulated.length > 0 ||
    rows.scale.length > 0 || rows.crossProcess.length > 0 || rows.takeover.length > 0
  ) {
    console.log(
      `\nstreamkit azure driver on Azurite ${azuriteVersion()} (in memory, one for every run), ` +
        `${run.azureEntries.toLocaleString("en-US")} entries of 256 bytes, median of ` +
        `${run.repeat} run(s), ${run.machine} (${run.minutes("azure")})\n`,
    );
  }
  printTable(
    rows.azure,
    "| scenario | streamkit entries/s | @azure/data-tables entries/s | vs data-tables |",
    "|---|---:|---:|---:|",
    "\n@azure/data-tables: entity group transactions of the driver's chunk size (90 creates) " +
      "into one partition per segment (segments concurrently), the same keys and the same " +
      "compressEntry bytes in v0, precomputed before the clock starts: one index where the " +
      "driver writes two and runs its commit protocol. Reads: listEntities pages of 1,000 over " +
      "the same rows (segment partition, space partition) with the driver's filter, decoding " +
      "nothing. Every run has fresh tables. In each process, produce: 1 warm-up and 5 timed " +
      "passes, each on fresh tables; reads: a setup process writes the data, a fresh process " +
      "reads it in 3 warm-up and 15 timed passes; the median pass counts.",
  );
  printTable(
    rows.azureFollow,
    "\n| following | streamkit | reference |",
    "|---|---:|---|",
    "\nLatency across two factory instances in one process (writer on one, follower on the " +
      "other, so the follower learns of commits only by polling, pollIntervalMs 250), 1-record " +
      `chunks, ${formatSamples(WORKLOADS["azure.follow.latency"].samples)}, measured as the ` +
      "level latency. No reference: no Azure library follows a table.",
  );
  printTable(
    rows.simulated,
    "\n| through the Azure simulator | streamkit entries/s | @azure/data-tables entries/s | " +
      "vs data-tables | requests per pass (streamkit / data-tables) |",
    "|---|---:|---:|---:|---:|",
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
  printTable(
    rows.scale,
    "\n| azure.space.scale: shards | entries/s into the space index | vs 1 shard | committed " +
      "entries/s | entries per shard (window) | requests (window) | throttled (partition / " +
      "account) | backlog at window end | drain s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
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
  printTable(
    rows.crossProcess,
    "\n| azure.follow.crossProcess: writers | commit to delivery | max | entries/s per writer " +
      "(each) | vs 1 writer | vs own spaces | CPU busy | entries delivered | " +
      "delivered before acknowledged |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    `\n${cross.writers} writer processes on one space, then as many each on a space of its ` +
      "own (the same load on the host without sharing a space), then 1 (the reference), " +
      "each writing " +
      `${cross.segmentsPerWriter} segments of its own concurrently (entries ÷ ` +
      `${cross.writers} per writer, in produce calls of ${cross.chunkRecords} records, one ` +
      `after another per segment), and a follower of the space in the measuring process ` +
      `(pollIntervalMs ${cross.pollIntervalMs}), each process behind a simulator of its own ` +
      `(${describeNetwork(cross.network)}), the driver's default options (maxClockSkewMs ` +
      `${cross.allowanceMs}), fresh tables per writer count. The writers start together once ` +
      "each has opened its store and written one chunk elsewhere (untimed). Latency: from " +
      "the moment a writer's produce yielded the status of an entry's chunk to the moment " +
      "the follower delivered the entry, on the host's wall clock, over every entry (goal: " +
      `p99 ≤ maxClockSkewMs + pollIntervalMs + 3 round trips = ${crossGoals?.maxP99Ms} ms). ` +
      "Entries/s per writer: a writer's entries over the time from the start to its last " +
      "acknowledgement, the writers' mean; vs 1 writer and vs own spaces: the medians of the " +
      `runs' own ratios (goal ${crossGoals?.perWriterGoal}). CPU busy: the host's cores, all ` +
      "processes, while the writers wrote (/proc/stat). Percentiles: medians over the runs; " +
      "the other columns are those of the median run.",
  );
  const { takeover } = WORKLOADS["azure.processor.takeover"];
  printTable(
    rows.takeover,
    "\n| azure.processor.takeover: lease ttl | kills | kill to next batch (median) | shortest | " +
      "longest |",
    "|---|---:|---:|---:|---:|",
    "\nrunProcessor instances in processes of their own, each behind a simulator of its own " +
      `(${describeNetwork(takeover.network)}), the lease's ttl ${takeover.ttlMs} ms (renewed ` +
      "every third of it): the holder and one instance waiting for the lease, while the " +
      `measuring process produces a chunk of 5 entries every ${takeover.produceIntervalMs} ms. ` +
      `The holder is SIGKILLed ${takeover.kills} times per run, at a random point of its ` +
      "renewal cycle, and a replacement started after each takeover; the figure is the time " +
      "from the kill to the first batch another instance was handed, on the host's wall " +
      "clock (goal: ≤ ttl + 1 s). All runs' kills together.",
  );
}
