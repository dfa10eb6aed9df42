/**
 * The simulator's counts over the timed part of each pass of a simulated scenario, for its
 * result's details.
 *
 * @module
 */

import { timed } from "./_contestant.ts";
import {
  countsSince,
  type SimulatedDetails,
  type SimulatedNetwork,
  type Simulator,
  type SimulatorCounts,
} from "./_simulator.ts";

function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The simulator's counts over the timed part of each pass: read just before and just after
 * it, outside the clock (the store's opening and the table's removal are left out).
 *
 * @example
 * ```ts ignore
 * const passes = new SimulatedPasses(simulator);
 * const { seconds } = await passes.timed(() => produceSegments(store, records));
 * const details = passes.details(network, PASSES.azureProduce.warmUp);
 * ```
 */
export class SimulatedPasses {
  readonly #simulator: Simulator;
  readonly #passes: SimulatorCounts[] = [];

  constructor(simulator: Simulator) {
    this.#simulator = simulator;
  }

  /** Times `body` as `timed` does (once per pass), and keeps what the simulator saw meanwhile. */
  async timed<T>(body: () => Promise<T>): Promise<{ seconds: number; value: T }> {
    const before = await this.#simulator.counts();
    const result = await timed(body);
    this.#passes.push(countsSince(before, await this.#simulator.counts()));
    return result;
  }

  /** `network` and the counts of the passes after the first `warmUp`. */
  details(network: SimulatedNetwork, warmUp: number): SimulatedDetails {
    const counted = this.#passes.slice(warmUp);
    const sum = (count: (pass: SimulatorCounts) => number) =>
      counted.reduce((total, pass) => total + count(pass), 0);
    const requests = sum((pass) => pass.requests);
    return {
      network,
      requestsPerPass: middle(counted.map((pass) => pass.requests)),
      throttledByPartition: sum((pass) => pass.throttledByPartition),
      throttledByAccount: sum((pass) => pass.throttledByAccount),
      meanDelayMs: requests === 0
        ? 0
        : Math.round(sum((pass) => pass.delayMs) / requests * 10) / 10,
    };
  }
}
