/**
 * What a contestant of the benchmark implements (each `_contestant_*.ts` exports one
 * {@linkcode Contestant}), and the measuring they all share: timing after a garbage collection,
 * the median of several passes, and the checks that a read saw what was written.
 *
 * @module
 */

import type { RemoteFollowers } from "./_remote_followers.ts";
import type { SimulatedNetwork } from "./_simulator.ts";
import {
  type CliCommand,
  type CrossProcess,
  type Driver,
  type LatencySamples,
  PAYLOAD_BYTES,
  type ProcessorTakeover,
  type Read,
  type SpaceScale,
} from "./_workload.ts";

/**
 * Where a contestant works, by driver: a fresh directory (level; remote, whose server process
 * serves it), or fresh tables on the shared Azurite (azure).
 *
 * @example
 * ```ts ignore
 * const place: Places["azure"] = { tablePrefix: "bench1a2b3c4d", connectionString };
 * ```
 */
export interface Places {
  level: { dir: string };
  /** The tables' names start with `tablePrefix`. */
  azure: { tablePrefix: string; connectionString: string };
  remote: { dir: string };
}

/**
 * What a scenario run is given: how many entries, the payload seed, and where to work.
 *
 * @example
 * ```ts ignore
 * const args: ScenarioArgs<"level"> = { entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" };
 * ```
 */
export type ScenarioArgs<D extends Driver> = { entries: number; seed: number } & Places[D];

/**
 * A job timed as the reference of another job of the same contestant, in the same process
 * over the same data: the driver's `consumeSpace` read, or its `produce` of the same entries;
 * or the raw library doing the driver's job (`data-tables`, through the same simulator).
 *
 * @example
 * ```ts ignore
 * const reference: SameProcessReference = "consumeSpace";
 * ```
 */
export type SameProcessReference = "consumeSpace" | "produce" | "data-tables" | "follow";

/**
 * What each `streamkit` command of a CLI scenario is compared with: `copy` with a produce of
 * the same entries, `export` with `consumeSpace` of the same data.
 *
 * @example
 * ```ts ignore
 * console.log(COMMAND_REFERENCES.copy); // "produce"
 * ```
 */
export const COMMAND_REFERENCES: Record<CliCommand, SameProcessReference> = {
  copy: "produce",
  export: "consumeSpace",
};

/**
 * What a measurement resolves to.
 *
 * @example
 * ```ts ignore
 * const measured: Measured = throughput(100_000, 0.5);
 * ```
 */
export interface Measured {
  entries: number;
  seconds: number;
  entriesPerSec: number;
  /** A latency scenario's percentiles over its timed samples, in milliseconds. */
  latency?: { p50Ms: number; p99Ms: number };
  /** The entries per second of the reads timed as references in the same process. */
  references?: Partial<Record<SameProcessReference, number>>;
  /** Scenario-specific numbers (per-pass rates, heap samples, chunk sizes). */
  details?: Record<string, unknown>;
}

/**
 * A scenario as a contestant runs it: an optional untimed setup (run in a process of its own,
 * so the timed process starts without the setup's heap), then the measurement.
 *
 * @example
 * ```ts ignore
 * const run: ScenarioRun<"level"> = { measure: async ({ entries }) => throughput(entries, 1) };
 * ```
 */
export interface ScenarioRun<D extends Driver> {
  setup?(args: ScenarioArgs<D>): Promise<void>;
  measure(args: ScenarioArgs<D>): Promise<Measured>;
}

/**
 * A contestant: how it runs each kind of `Workload` on its driver's place.
 *
 * @example
 * ```ts ignore
 * export const contestant: Contestant<"level"> = { driver: "level", produce, consume };
 * ```
 */
export interface Contestant<D extends Driver> {
  driver: D;
  produce(segments: number): ScenarioRun<D>;
  consume(read: Read): ScenarioRun<D>;
  /** Consuming while sampling the heap: only streamkit's own level driver is measured so. */
  memory?: ScenarioRun<D>;
  /** Single entries timed from their produce to a follower in the same process. */
  followLatency?(samples: LatencySamples): ScenarioRun<D>;
  /** Following a space from its start to the live end, against `consumeSpace` (streamkit's). */
  catchUp?: ScenarioRun<D>;
  /** `runProcessor` over a space to its first caught-up batch, against a plain `follow`. */
  processor?: ScenarioRun<D>;
  /** One `consume` merging `spaces` spaces, against `consumeSpace` of each (streamkit's). */
  merge?(spaces: number): ScenarioRun<D>;
  /**
   * The `streamkit` command `command` run as a process of its own, against the driver doing
   * the matching job in the measuring process (streamkit's).
   */
  cli?(command: CliCommand): ScenarioRun<D>;
  /**
   * Producing into `segments` segments through the Azure simulator's `network`, against the
   * raw library's produce on the same simulator, pass by pass in one process (streamkit's).
   */
  simulatedProduce?(segments: number, network: SimulatedNetwork): ScenarioRun<D>;
  /** Consuming what a setup wrote, the same way (streamkit's). */
  simulatedConsume?(read: Read, network: SimulatedNetwork): ScenarioRun<D>;
  /** A space's write throughput by shard count, under the simulator's limits (streamkit's). */
  spaceScale?(scale: SpaceScale): ScenarioRun<D>;
  /** Entries from their commit in writer processes to a follower in another (streamkit's). */
  crossProcess?(cross: CrossProcess): ScenarioRun<D>;
  /** A commit to its delivery at many idle followers of one server, and its memory (remote). */
  followers?(followers: RemoteFollowers): ScenarioRun<D>;
  /** A processor's takeover after the SIGKILL of its lease's holder (streamkit's azure). */
  processorTakeover?(takeover: ProcessorTakeover): ScenarioRun<D>;
}

/**
 * Runs the garbage collector when the process was started with `--expose-gc`.
 *
 * @example
 * ```ts ignore
 * collectGarbage(); // a no-op without --v8-flags=--expose-gc
 * ```
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Seconds `body` took, and its result; garbage left by the preparation is collected first.
 *
 * @example
 * ```ts ignore
 * const { seconds } = await timed(() => writeEverything());
 * ```
 */
export async function timed<T>(body: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  collectGarbage();
  const start = performance.now();
  const value = await body();
  return { seconds: (performance.now() - start) / 1000, value };
}

/**
 * Throughput of `entries` in `seconds`.
 *
 * @example
 * ```ts ignore
 * console.log(throughput(100_000, 0.5).entriesPerSec); // 200000
 * ```
 */
export function throughput(
  entries: number,
  seconds: number,
): { entries: number; seconds: number; entriesPerSec: number } {
  return { entries, seconds, entriesPerSec: Math.round(entries / seconds) };
}

/**
 * How many untimed passes precede the timed ones in one process.
 *
 * @example
 * ```ts ignore
 * const passes: Passes = { warmUp: 1, timed: 5 };
 * ```
 */
export interface Passes {
  warmUp: number;
  timed: number;
}

/**
 * The passes of each kind of measurement. A level read of 100,000 entries is long enough for
 * the median of 5 to absorb the first pass's JIT; an Azure pass of 5,000 entries is short (0.1
 * to 1 s), so without warm-up passes the JIT warm-up (of this process and of Azurite's
 * handlers) would weigh on every number.
 *
 * @example
 * ```ts ignore
 * await medianPass("consume space", entries, PASSES.azureRead, readAll);
 * ```
 */
export const PASSES = {
  /** Reads do not change the data: every pass reads the same rows. */
  levelRead: { warmUp: 0, timed: 5 },
  /** Each pass writes every entry again, on fresh tables. */
  azureProduce: { warmUp: 1, timed: 5 },
  azureRead: { warmUp: 3, timed: 15 },
  /**
   * Two reads compared in one process alternate: a warm-up pass of each, so that neither
   * pays alone for the JIT of the code they share (the decoder, the driver's iterator).
   */
  levelComparedRead: { warmUp: 1, timed: 5 },
  /**
   * A `streamkit` command against the driver's own job, alternating as the compared reads do:
   * the warm-up pass also fills Deno's cache of the command's transpiled modules.
   */
  levelCommand: { warmUp: 1, timed: 5 },
} as const satisfies Record<string, Passes>;

/**
 * What one pass saw: the seconds its timed part took and the entries it wrote or read.
 *
 * @example
 * ```ts ignore
 * const pass: PassResult = { seconds: 0.2, count: 5_000 };
 * ```
 */
export interface PassResult {
  seconds: number;
  count: number;
}

/** The middle of `values` (the upper one of the middle two when their count is even). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs `pass` for the warm-up passes and then the timed ones, each expected to see `entries`,
 * and reports the median timed pass.
 *
 * @example
 * ```ts ignore
 * const result = await medianPass("consume space", 5_000, PASSES.azureRead, readAll);
 * ```
 */
export async function medianPass(
  what: string,
  entries: number,
  passes: Passes,
  pass: (index: number) => Promise<PassResult>,
): Promise<Measured> {
  const times: number[] = [];
  for (let i = 0; i < passes.warmUp + passes.timed; i++) {
    const { seconds, count } = await pass(i);
    expectCount(what, count, entries);
    if (i >= passes.warmUp) times.push(seconds);
  }
  return {
    ...throughput(entries, median(times)),
    details: { passes: times.map((t) => Math.round(entries / t)) },
  };
}

/**
 * Reads the same data in every pass and reports the median timed pass: each pass times the
 * whole of `count`, which resolves to the entries it saw.
 *
 * @example
 * ```ts ignore
 * await medianReadPass("space", entries, PASSES.levelRead, () => countEntries(store));
 * ```
 */
export function medianReadPass(
  read: Read,
  entries: number,
  passes: Passes,
  count: () => Promise<number>,
): Promise<Measured> {
  return medianPass(`consume ${read}`, entries, passes, async () => {
    const { seconds, value } = await timed(count);
    return { seconds, count: value };
  });
}

/**
 * A read of a compared pair: what it is called, and the read itself, resolving to the entries
 * it saw.
 *
 * @example
 * ```ts ignore
 * const read: ComparedRead = { what: "consume space", count: () => countEntries(entries) };
 * ```
 */
export interface ComparedRead {
  what: string;
  count: () => Promise<number>;
}

/**
 * A job of a compared pair whose pass times only part of its work (the rest prepares or
 * checks): what it is called, and one pass, resolving to the seconds its timed part took and
 * the entries it wrote or read. `index` counts the passes of this job from 0.
 *
 * @example
 * ```ts ignore
 * const job: ComparedJob = { what: "produce", pass: (index) => produceInto(`${dir}/${index}`) };
 * ```
 */
export interface ComparedJob {
  what: string;
  pass: (index: number) => Promise<PassResult>;
}

/** A read of a compared pair as a job: the whole of `count` is timed. */
function readJob(read: ComparedRead): ComparedJob {
  return {
    what: read.what,
    pass: async () => {
      const { seconds, value } = await timed(read.count);
      return { seconds, count: value };
    },
  };
}

/**
 * Times two reads of the same `entries` in one process, pass by pass in turn (which goes first
 * alternates, so neither always reads after the other's garbage), and reports the median timed
 * pass of `ours`, with the median of `reference` under `references[name]`. One process for
 * both: their ratio is what counts, and on a shared machine two processes would see different
 * loads.
 *
 * @example
 * ```ts ignore
 * await medianComparedPasses(entries, PASSES.levelComparedRead, follow, "consumeSpace", consumeSpace);
 * ```
 */
export function medianComparedPasses(
  entries: number,
  passes: Passes,
  ours: ComparedRead,
  name: SameProcessReference,
  reference: ComparedRead,
): Promise<Measured> {
  return medianComparedJobs(entries, passes, readJob(ours), name, readJob(reference));
}

/**
 * {@linkcode medianComparedPasses} for jobs that time their own passes: each pass of `ours`
 * and of `reference` must see `entries`.
 *
 * @example
 * ```ts ignore
 * await medianComparedJobs(entries, PASSES.levelCommand, copyCommand, "produce", produce);
 * ```
 */
export async function medianComparedJobs(
  entries: number,
  passes: Passes,
  ours: ComparedJob,
  name: SameProcessReference,
  reference: ComparedJob,
): Promise<Measured> {
  const oursTimes: number[] = [];
  const referenceTimes: number[] = [];
  for (let i = 0; i < passes.warmUp + passes.timed; i++) {
    const turns: [ComparedJob, number[]][] = [[ours, oursTimes], [reference, referenceTimes]];
    if (i % 2 === 1) turns.reverse();
    for (const [job, times] of turns) {
      const { seconds, count } = await job.pass(i);
      expectCount(job.what, count, entries);
      if (i >= passes.warmUp) times.push(seconds);
    }
  }
  const rates = (times: number[]) => times.map((t) => Math.round(entries / t));
  return {
    ...throughput(entries, median(oursTimes)),
    references: { [name]: Math.round(entries / median(referenceTimes)) },
    details: { passes: rates(oursTimes), [`${name}Passes`]: rates(referenceTimes) },
  };
}

/**
 * Fails the scenario when a read did not see what was written.
 *
 * @example
 * ```ts ignore
 * expectCount("consume space", count, 100_000); // throws when they differ
 * ```
 */
export function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: read ${actual} entries, expected ${expected}`);
}

/**
 * Fails the scenario when decoded entries did not carry their payloads.
 *
 * @example
 * ```ts ignore
 * expectPayloadBytes(count, bytes); // bytes: the sum of the payloads' lengths
 * ```
 */
export function expectPayloadBytes(count: number, bytes: number): void {
  expectCount("payload bytes", bytes, count * PAYLOAD_BYTES);
}

/**
 * Fails the scenario when the stored values read raw (encoded entries, not decoded) are not
 * longer than their payloads.
 *
 * @example
 * ```ts ignore
 * expectStoredBytes(count, bytes); // bytes: the sum of the stored values' lengths
 * ```
 */
export function expectStoredBytes(count: number, bytes: number): void {
  if (bytes <= count * PAYLOAD_BYTES) throw new Error("values shorter than their payloads");
}
