/**
 * The figures of the benchmark's report: medians over runs, ratios, and how rates, ratios,
 * latencies, request counts and simulated networks are written in its tables and notes.
 *
 * @module
 */

import type { ChildResult } from "./_child.ts";
import type { FollowersDetails } from "./_remote_followers.ts";
import type { SimulatedDetails, SimulatedNetwork } from "./_simulator.ts";
import type { ShardsResult } from "./_space_scale.ts";
import type { WritersResult } from "./_cross_process.ts";

/**
 * The run of median throughput.
 *
 * @example
 * ```ts ignore
 * console.log(median(runs).entriesPerSec);
 * ```
 */
export function median(results: ChildResult[]): ChildResult {
  const sorted = [...results].sort((a, b) => a.entriesPerSec - b.entriesPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * The median of `values` (the lower one of an even count).
 *
 * @example
 * ```ts ignore
 * console.log(medianOf([3, 1, 2])); // 2
 * ```
 */
export function medianOf(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
}

/**
 * The median p50 and the median p99 of a latency scenario's runs.
 *
 * @example
 * ```ts ignore
 * console.log(formatLatency(medianLatency(runs)));
 * ```
 */
export function medianLatency(results: ChildResult[]): { p50Ms: number; p99Ms: number } {
  return {
    p50Ms: medianOf(results.map((result) => result.latency!.p50Ms)),
    p99Ms: medianOf(results.map((result) => result.latency!.p99Ms)),
  };
}

/**
 * `ours / reference` to two decimals; `undefined` without a reference.
 *
 * @example
 * ```ts ignore
 * console.log(ratio(150, 100)); // 1.5
 * ```
 */
export function ratio(ours: number, reference: number | undefined): number | undefined {
  return reference === undefined ? undefined : Math.round(ours / reference * 100) / 100;
}

/**
 * A rate or count with thousands separators; `–` for none.
 *
 * @example
 * ```ts ignore
 * console.log(formatRate(12345)); // "12,345"
 * ```
 */
export function formatRate(rate: number | undefined): string {
  return rate === undefined ? "–" : rate.toLocaleString("en-US");
}

/**
 * A ratio with whether it meets `goal`: `1.20× ✓`, `0.50× ✗ (goal 0.7)`; `–` for none.
 *
 * @example
 * ```ts ignore
 * console.log(formatRatio(0.5, 0.7)); // "0.50× ✗ (goal 0.7)"
 * ```
 */
export function formatRatio(value: number | undefined, goal: number | undefined): string {
  if (value === undefined) return "–";
  const mark = goal === undefined ? "" : value >= goal ? " ✓" : ` ✗ (goal ${goal})`;
  return `${value.toFixed(2)}×${mark}`;
}

/**
 * A latency's percentiles: `p50 1.20 ms, p99 3.40 ms`.
 *
 * @example
 * ```ts ignore
 * console.log(formatLatency({ p50Ms: 1.2, p99Ms: 3.4 }));
 * ```
 */
export function formatLatency({ p50Ms, p99Ms }: { p50Ms: number; p99Ms: number }): string {
  return `p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms`;
}

/**
 * How many samples a latency scenario times, for the notes under the tables.
 *
 * @example
 * ```ts ignore
 * console.log(formatSamples({ warmUp: 300, timed: 3_000 }));
 * ```
 */
export function formatSamples({ warmUp, timed }: { warmUp: number; timed: number }): string {
  return `${timed.toLocaleString("en-US")} timed samples after ${warmUp} warm-up ones`;
}

/**
 * Whether a p99 meets the latency goal `maxP99Ms` (nothing without a goal).
 *
 * @example
 * ```ts ignore
 * console.log(formatMaxP99(6, 5)); // " ✗ (goal p99 ≤ 5 ms)"
 * ```
 */
export function formatMaxP99(p99Ms: number, maxP99Ms: number | undefined): string {
  if (maxP99Ms === undefined) return "";
  return p99Ms <= maxP99Ms ? " ✓" : ` ✗ (goal p99 ≤ ${maxP99Ms} ms)`;
}

/**
 * Each shard count's figures in a space-scaling run, 1 shard first.
 *
 * @example
 * ```ts ignore
 * for (const at of shardResults(result)) console.log(at.shards, at.entriesPerSec);
 * ```
 */
export function shardResults(result: ChildResult): ShardsResult[] {
  return (result.details as { shards: ShardsResult[] }).shards;
}

/**
 * Each writer count's figures in a cross-process run, the measured count first, 1 writer last.
 *
 * @example
 * ```ts ignore
 * const [many, one] = writersResults(result);
 * ```
 */
export function writersResults(result: ChildResult): WritersResult[] {
  return (result.details as { writers: WritersResult[] }).writers;
}

/**
 * A child's result as the progress line shows it.
 *
 * @example
 * ```ts ignore
 * console.error(`${scenario.name} ${contestant}: ${describeResult(result)}`);
 * ```
 */
export function describeResult(result: ChildResult): string {
  if (result.scenario === "azure.follow.crossProcess") {
    return writersResults(result).map((at) =>
      `${at.writers} writer(s) on ${at.spaces === "own" ? "own spaces" : "one space"} ${
        formatLatency(at)
      }, ${formatRate(at.entriesPerSecPerWriter)} entries/s per writer`
    ).join("; ");
  }
  if (result.scenario === "remote.followers.1000") {
    const d = result.details as unknown as FollowersDetails;
    return `${formatLatency(result.latency!)}, all ${d.followers} by ${
      d.allDeliveredMaxMs.toFixed(1)
    } ms at most, server RSS ${d.rssBeforeMiB} → ${d.rssAttachedMiB} MiB`;
  }
  if (result.latency) return formatLatency(result.latency);
  if (result.scenario === "azure.space.scale") {
    return shardResults(result).map((at) =>
      `${at.shards} shard(s) ${formatRate(at.entriesPerSec)} entries/s`
    ).join(", ");
  }
  const references = Object.entries(result.references ?? {})
    .map(([name, rate]) => `, ${name} ${formatRate(rate)}`).join("");
  return `${formatRate(result.entriesPerSec)} entries/s${references}`;
}

/**
 * The requests a simulated scenario's timed pass sent (the median pass), ours / the raw
 * reference's, and per chunk for a produce.
 *
 * @example
 * ```ts ignore
 * console.log(formatRequests(result)); // "330 / 55 (6.00 / 1.00 per chunk)"
 * ```
 */
export function formatRequests(result: ChildResult): string {
  const details = result.details as {
    simulator: SimulatedDetails;
    referenceSimulator: SimulatedDetails;
    chunksPerPass?: number;
  };
  const perPass = [details.simulator, details.referenceSimulator].map((d) => d.requestsPerPass);
  const cell = perPass.map(formatRate).join(" / ");
  const chunks = details.chunksPerPass;
  if (chunks === undefined) return cell;
  return `${cell} (${perPass.map((n) => (n / chunks).toFixed(2)).join(" / ")} per chunk)`;
}

/**
 * A simulated network as the notes describe it.
 *
 * @example
 * ```ts ignore
 * console.log(describeNetwork(RTT10));
 * ```
 */
export function describeNetwork(network: SimulatedNetwork): string {
  const limits = network.partitionEntitiesPerSecond > 0
    ? `, ${formatRate(network.partitionEntitiesPerSecond)} entities/s per partition and ` +
      `${formatRate(network.accountRequestsPerSecond)} requests/s on the account (token ` +
      `buckets of ${network.burstSeconds} s; beyond them 503 ServerBusy, nothing applied)`
    : ", no rate limits";
  return `a round trip of ${network.latencyMs} ± ${network.jitterMs} ms added to every ` +
    `request${limits}`;
}

/**
 * Prints a markdown table if it has rows: its heading line, its alignment line, the rows, then
 * the note under it, if any.
 *
 * @example
 * ```ts ignore
 * printTable(rows.azureFollow, "\n| following | streamkit | reference |", "|---|---:|---|");
 * ```
 */
export function printTable(
  rows: readonly string[],
  heading: string,
  alignment: string,
  note?: string,
): void {
  if (rows.length === 0) return;
  console.log(heading);
  console.log(alignment);
  for (const row of rows) console.log(row);
  if (note !== undefined) console.log(note);
}
