/**
 * The cross-process following scenario of the "azure" contestant (`azure.follow.crossProcess`):
 * writer processes (`_cross_process_writer.ts`) and a follower in this process, each behind a
 * simulator of its own in front of the shared Azurite, on fresh tables per writer count.
 * Latency: from the moment a writer's produce acknowledged an entry's chunk to the moment the
 * follower delivered the entry, both on this host's wall clock. Throughput: each writer's
 * entries over the time from the word go to its last acknowledgement, with others beside it
 * against alone, and on one space against each on a space of its own (the same machine load
 * without sharing a space). CPU: how busy the host's cores were while the writers wrote.
 *
 * @module
 */

import type { Entry, Store } from "../../core/mod.ts";
import { sleep, withTimeout } from "../../core/_async.ts";
import { AzureStoreFactory, azureTableName } from "../../drivers/azure/mod.ts";
import type { Measured, ScenarioArgs, ScenarioRun } from "./_contestant.ts";
import { tableClient } from "./_azure_tables.ts";
import {
  startWriter,
  wallClockMs,
  type Writer,
  type WriterOrders,
  type WriterReport,
} from "./_cross_process_writer.ts";
import { milliseconds, percentile } from "./_latency.ts";
import { startSimulator } from "./_simulator.ts";
import { type CrossProcess, SPACE, STORE_ID } from "./_workload.ts";

/** How long the writers may take to start, and to write, before the scenario fails. */
const START_TIMEOUT_MS = 60_000;
const WRITE_TIMEOUT_MS = 120_000;
/** How long after the writers' last acknowledgement the follower may take to deliver it all. */
const DELIVERY_TIMEOUT_MS = 30_000;

/**
 * What one writer count measured.
 *
 * @example
 * ```ts ignore
 * const [many, one] = (result.details!.writers as WritersResult[]);
 * ```
 */
export interface WritersResult {
  writers: number;
  /** Whether the writers shared the followed space or each wrote (and was followed in) its own. */
  spaces: Spaces;
  /** Entries written and delivered, all writers together. */
  entries: number;
  /** From a chunk's acknowledgement to the follower's delivery of each of its entries. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Entries the follower delivered before their writer heard of their commit (counted 0 ms). */
  arrivedFirst: number;
  /** The writers' mean: entries acknowledged per second, from the word go to the last. */
  entriesPerSecPerWriter: number;
  /** Each writer's rate. */
  perWriter: number[];
  /** From the word go to the last acknowledgement of any writer. */
  writeSeconds: number;
  /** The share of the host's CPU time busy while the writers wrote (0–1; -1: not known). */
  cpuBusy: number;
}

/** The writers' spaces in a run: the one they share, or one of each writer's own. */
export type Spaces = "one" | "own";

/** The space writer `writer` writes when the writers' spaces are `spaces`. */
function writerSpace(spaces: Spaces, writer: number): string {
  return spaces === "one" ? SPACE : `${SPACE}-${writer}`;
}

/** The host's CPU time so far, busy and in all (Linux's /proc/stat), or `undefined`. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)
      .slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    // idle and iowait are the 4th and 5th fields.
    return { busy: total - fields[3] - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** When the follower delivered each entry: by segment, the times in sequence order from 1. */
class Deliveries {
  readonly bySegment = new Map<string, number[]>();
  count = 0;
  error: unknown;

  delivered(entry: Entry, at: number): void {
    const times = this.bySegment.get(entry.segment) ?? [];
    this.bySegment.set(entry.segment, times);
    if (entry.sequence !== times.length + 1) {
      this.error ??= new Error(
        `follower delivered ${entry.segment}#${entry.sequence} after #${times.length}`,
      );
    }
    times.push(at);
    this.count++;
  }
}

/** Follows the space on `store` into `deliveries`; resolves once the follow caught up first. */
async function follow(
  store: Store,
  followed: string[],
  deliveries: Deliveries,
  pollIntervalMs: number,
): Promise<{ stop(): Promise<void> }> {
  const stop = new AbortController();
  let caughtUp = () => {};
  const firstCaughtUp = new Promise<void>((resolve) => caughtUp = resolve);
  const following = (async () => {
    const spaces = Object.fromEntries(followed.map((space) => [space, undefined]));
    for await (const event of store.follow({ spaces, pollIntervalMs, signal: stop.signal })) {
      if (event.type === "entry") deliveries.delivered(event.entry, wallClockMs());
      else caughtUp();
    }
  })().catch((error) => {
    // Aborting the signal is how the follow ends: iteration ends with its reason.
    if (!stop.signal.aborted) deliveries.error ??= error;
    caughtUp();
  });
  await firstCaughtUp;
  if (deliveries.error !== undefined) throw deliveries.error;
  return {
    stop: async () => {
      stop.abort();
      await following;
    },
  };
}

/** Waits until the follower delivered `expected` entries; fails on its error or the timeout. */
async function allDelivered(deliveries: Deliveries, expected: number): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (deliveries.count < expected && deliveries.error === undefined) {
    if (Date.now() > deadline) {
      throw new Error(
        `the follower delivered ${deliveries.count} of ${expected} entries in ` +
          `${DELIVERY_TIMEOUT_MS / 1000} s after the last acknowledgement`,
      );
    }
    await sleep(20);
  }
  if (deliveries.error !== undefined) throw deliveries.error;
  if (deliveries.count !== expected) {
    throw new Error(`the follower delivered ${deliveries.count} entries, expected ${expected}`);
  }
}

/**
 * Each entry's latency: its delivery less its chunk's acknowledgement (the first ack of its
 * segment at or past its sequence); negative ones (delivered first) count 0 ms.
 */
function latencies(
  reports: WriterReport[],
  deliveries: Deliveries,
): { sorted: number[]; arrivedFirst: number } {
  const values: number[] = [];
  let arrivedFirst = 0;
  for (const { acks } of reports) {
    const next = new Map<string, number>();
    for (const { segment, lastSequence, at } of acks) {
      const times = deliveries.bySegment.get(segment) ?? [];
      for (let sequence = next.get(segment) ?? 1; sequence <= lastSequence; sequence++) {
        const deliveredAt = times[sequence - 1];
        if (deliveredAt === undefined) throw new Error(`${segment}#${sequence} not delivered`);
        if (deliveredAt < at) arrivedFirst++;
        values.push(Math.max(0, deliveredAt - at));
      }
      next.set(segment, lastSequence + 1);
    }
  }
  return { sorted: values.sort((a, b) => a - b), arrivedFirst };
}

async function measureWriters(
  cross: CrossProcess,
  writers: number,
  spaces: Spaces,
  perWriter: number,
  { seed, tablePrefix, connectionString }: ScenarioArgs<"azure">,
): Promise<WritersResult> {
  const prefix = `${tablePrefix}w${writers}${spaces}`;
  await using simulator = await startSimulator(connectionString, cross.network, seed);
  const factory = new AzureStoreFactory({
    connectionString: simulator.connectionString,
    allowInsecureHttp: true,
    tablePrefix: prefix,
  });
  const deliveries = new Deliveries();
  let started: Writer[] = [];
  let following: { stop(): Promise<void> } | undefined;
  try {
    // The follower's store first: it creates the table the writers open.
    const followed = [
      ...new Set(Array.from({ length: writers }, (_, i) => writerSpace(spaces, i))),
    ];
    following = await follow(
      await factory.newStore(STORE_ID),
      followed,
      deliveries,
      cross.pollIntervalMs,
    );
    started = Array.from({ length: writers }, (_, writer) => {
      const orders: WriterOrders = {
        tablePrefix: prefix,
        space: writerSpace(spaces, writer),
        writer,
        entries: perWriter,
        segments: cross.segmentsPerWriter,
        chunkRecords: cross.chunkRecords,
        network: cross.network,
        seed,
      };
      return startWriter(orders, connectionString);
    });
    // Each starts its simulator, opens its store and warms up, then waits for the word.
    await withTimeout(
      Promise.all(started.map((writer) => writer.ready)),
      "starting the writers",
      START_TIMEOUT_MS,
    );
    const cpuBefore = cpuTimes();
    for (const writer of started) writer.go();
    const reports = await withTimeout(
      Promise.all(started.map((writer) => writer.report)),
      "writing",
      WRITE_TIMEOUT_MS,
    );
    const cpuAfter = cpuTimes();
    const cpuBusy = cpuBefore && cpuAfter && cpuAfter.total > cpuBefore.total
      ? Math.round(100 * (cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total)) /
        100
      : -1;
    await allDelivered(deliveries, writers * perWriter);
    const { sorted, arrivedFirst } = latencies(reports, deliveries);
    const rates = reports.map(({ entries, startedAt, lastAckAt }) =>
      Math.round(entries / ((lastAckAt - startedAt) / 1000))
    );
    const start = Math.min(...reports.map((report) => report.startedAt));
    const end = Math.max(...reports.map((report) => report.lastAckAt));
    return {
      writers,
      spaces,
      entries: sorted.length,
      p50Ms: milliseconds(percentile(sorted, 50)),
      p99Ms: milliseconds(percentile(sorted, 99)),
      maxMs: milliseconds(sorted[sorted.length - 1]),
      meanMs: milliseconds(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length),
      arrivedFirst,
      entriesPerSecPerWriter: Math.round(rates.reduce((sum, rate) => sum + rate, 0) / writers),
      perWriter: rates,
      writeSeconds: Math.round((end - start) / 10) / 100,
      cpuBusy,
    };
  } finally {
    // Writers that are still running (a failure elsewhere) end here; the others have exited.
    for (const writer of started) writer.kill();
    await following?.stop();
    await factory.close();
    await tableClient(connectionString, azureTableName(prefix, STORE_ID)).deleteTable()
      .catch(() => {});
  }
}

/**
 * The cross-process following scenario: `cross.writers` writers on one space, then as many each
 * on a space of its own, then 1 with the share of one of them (the reference); the result's own
 * figures are the first run's (its latency, its rate per writer), all runs' in
 * `details.writers`.
 *
 * @example
 * ```ts ignore
 * const result = await crossProcess(WORKLOADS["azure.follow.crossProcess"].cross).measure(args);
 * ```
 */
export function crossProcess(cross: CrossProcess): ScenarioRun<"azure"> {
  return {
    measure: async (args): Promise<Measured> => {
      const perWriter = Math.ceil(args.entries / cross.writers);
      const results: WritersResult[] = [];
      const runs: [number, Spaces][] = [[cross.writers, "one"], [cross.writers, "own"], [1, "one"]];
      for (const [writers, spaces] of runs) {
        const result = await measureWriters(cross, writers, spaces, perWriter, args);
        results.push(result);
        console.error(
          `  ${writers} writer(s), ${spaces === "one" ? "one space" : "own spaces"}: p50 ` +
            `${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
            `${result.entriesPerSecPerWriter.toLocaleString("en-US")} entries/s per writer, ` +
            `CPU ${Math.round(result.cpuBusy * 100)}% busy`,
        );
      }
      const [many] = results;
      return {
        entries: many.entries,
        seconds: many.writeSeconds,
        entriesPerSec: many.entriesPerSecPerWriter,
        latency: { p50Ms: many.p50Ms, p99Ms: many.p99Ms },
        details: { writers: results },
      };
    },
  };
}
