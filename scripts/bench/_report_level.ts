/**
 * The level tables of the benchmark's report, with their notes: throughput against
 * classic-level and Deno KV, memory, following and merging, and the `streamkit` command.
 *
 * @module
 */

import type { ReportRows, RunDescription } from "./_report.ts";
import { formatSamples, printTable } from "./_report_format.ts";
import { WORKLOADS } from "./_workload.ts";

/**
 * Prints the level tables that have rows, under one heading.
 *
 * @example
 * ```ts ignore
 * printLevelTables(rows, run);
 * ```
 */
export function printLevelTables(rows: ReportRows, run: RunDescription): void {
  if (
    rows.level.length > 0 || rows.memory.length > 0 || rows.follow.length > 0 || rows.cli.length > 0
  ) {
    console.log(
      `\nstreamkit level driver, ${run.entries.toLocaleString("en-US")} entries of 256 bytes, ` +
        `median of ${run.repeat} run(s), ${run.machine} (${run.minutes("level")})\n`,
    );
  }
  printTable(
    rows.level,
    "| scenario | streamkit entries/s | classic-level entries/s | Deno KV entries/s | vs classic-level | vs Deno KV |",
    "|---|---:|---:|---:|---:|---:|",
    "\nclassic-level: the same keys and value bytes (precomputed before the clock starts, copied " +
      "into reused views before each put), chained batches of the same size (10,000 entries), " +
      "sync: true; reads: a values() iterator with the driver's nextv page size and " +
      "highWaterMarkBytes, decoding nothing. Deno KV: the same job (both indexes, the head " +
      "checked by versionstamp in each atomic commit) in chunks of 498 entries (its limit of " +
      "1,000 mutations per atomic operation); reads decode each entry. Reads: a setup process " +
      "writes (and, for LevelDB, compacts) the data, a fresh process times 5 passes, the median " +
      "pass counts.",
  );
  printTable(
    rows.memory,
    "\n| memory (consume) | entries | entries/s | heap before MiB | heap peak MiB | heap after MiB | RSS peak MiB |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  printTable(
    rows.follow,
    "\n| following and merging | streamkit | compared with | its figure | ratio |",
    "|---|---:|---|---:|---:|",
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
  printTable(
    rows.cli,
    "\n| streamkit command (level → level) | streamkit | start-up | compared with | its figure " +
      "| ratio | ratio less start-up |",
    "|---|---:|---:|---|---:|---:|---:|",
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
