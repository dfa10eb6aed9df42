/**
 * Timing an entry from its produce to a follower in the same process, the producer sending the
 * next record only once the previous one arrived, so that each sample is one entry's latency.
 *
 * @module
 */

import { collectGarbage, type Measured, throughput } from "./_contestant.ts";
import type { LatencySamples } from "./_workload.ts";

/** How long a sample may take before the scenario fails rather than hangs. */
const ARRIVAL_TIMEOUT_MS = 10_000;

/**
 * The entry the producer waits for, and when the follower delivered it. The follower must
 * deliver every entry once, in sequence order: anything else fails the scenario.
 *
 * @example
 * ```ts ignore
 * const arrivals = new Arrivals();
 * // follower: arrivals.arrived(entry.sequence) for each entry; arrivals.fail(error) if it fails
 * const arrivedAt = await arrivals.expect(1); // registered before producing sequence 1
 * ```
 */
export class Arrivals {
  #delivered = 0;
  #expected: { sequence: number; resolve: (at: number) => void } | undefined;
  #failed: ((error: unknown) => void) | undefined;
  #error: unknown;

  /**
   * Resolves to the time (`performance.now()`) the follower delivers `sequence`, the next one;
   * called before that entry is produced, so an early arrival is not missed.
   */
  expect(sequence: number): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`entry ${sequence} did not reach the follower in ${ARRIVAL_TIMEOUT_MS} ms`),
          ),
        ARRIVAL_TIMEOUT_MS,
      );
      this.#expected = {
        sequence,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.#failed = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
  }

  /** The follower delivered entry `sequence`: now. */
  arrived(sequence: number): void {
    const at = performance.now();
    if (sequence !== this.#delivered + 1 || sequence !== this.#expected?.sequence) {
      this.fail(new Error(`follower delivered ${sequence} after ${this.#delivered}`));
      return;
    }
    this.#delivered = sequence;
    this.#expected.resolve(at);
    this.#expected = undefined;
  }

  /** The follower failed: the sample waited for, and every later one, fail with `error`. */
  fail(error: unknown): void {
    this.#error ??= error;
    this.#failed?.(error);
  }
}

/**
 * The `p`-th percentile of ascending `sorted`, by nearest rank.
 *
 * @example
 * ```ts ignore
 * console.log(percentile([1, 2, 3, 4], 50)); // 2
 * ```
 */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)];
}

/**
 * A latency in ms as the results write it: rounded to the microsecond.
 *
 * @example
 * ```ts ignore
 * console.log(milliseconds(1.23456)); // 1.235
 * ```
 */
export function milliseconds(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * Produces entries 1, 2, ... one at a time through `produce`, which resolves to the moment the
 * produce resolved (`performance.now()`), waits for each to reach the follower feeding
 * `arrivals`, and reports the percentiles of the timed samples. A follower that delivers an
 * entry before its produce resolved counts 0 ms.
 *
 * @example
 * ```ts ignore
 * const measured = await measureFollowLatency({ warmUp: 10, timed: 100 }, arrivals, produceOne);
 * console.log(measured.latency?.p99Ms);
 * ```
 */
export async function measureFollowLatency(
  samples: LatencySamples,
  arrivals: Arrivals,
  produce: (sequence: number) => Promise<number>,
): Promise<Measured> {
  const latencies: number[] = [];
  let arrivedFirst = 0;
  let timedFrom = 0;
  for (let sequence = 1; sequence <= samples.warmUp + samples.timed; sequence++) {
    if (sequence === samples.warmUp + 1) {
      collectGarbage();
      timedFrom = performance.now();
    }
    const arrival = arrivals.expect(sequence);
    // Never an unhandled rejection while the produce is awaited; awaited right after it.
    arrival.catch(() => {});
    const resolvedAt = await produce(sequence);
    const arrivedAt = await arrival;
    if (sequence > samples.warmUp) {
      latencies.push(Math.max(0, arrivedAt - resolvedAt));
      if (arrivedAt < resolvedAt) arrivedFirst++;
    }
  }
  const seconds = (performance.now() - timedFrom) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    ...throughput(samples.timed, seconds),
    latency: {
      p50Ms: milliseconds(percentile(sorted, 50)),
      p99Ms: milliseconds(percentile(sorted, 99)),
    },
    details: {
      maxMs: milliseconds(sorted[sorted.length - 1]),
      meanMs: milliseconds(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length),
      // Samples whose entry reached the follower before its produce resolved (counted 0 ms).
      arrivedFirst,
    },
  };
}
