/**
 * What every contestant of the benchmark shares: the scenarios, the seeded data, the chunking,
 * the key layout of the references, the child protocol (one JSON line on stdout) and the
 * LevelDB compaction done before a timed read.
 *
 * @module
 */

import { ClassicLevel } from "classic-level";
import {
  encodeEntry,
  type Entry,
  segmentEntryKey,
  segmentInventoryKey,
  type SegmentStatus,
  segmentStatusKey,
  spaceEntryKey,
  spaceInventoryKey,
} from "../../core/mod.ts";
import { SeededRandom } from "../../core/_test_random.ts";
import { encodeHead } from "../../drivers/level/_head_codec.ts";

/**
 * The scenarios a contestant process can run.
 *
 * @example
 * ```ts ignore
 * const scenario: ScenarioName = "level.consumeSpace";
 * ```
 */
export type ScenarioName =
  | "level.produce.1seg"
  | "level.produce.8seg"
  | "level.consumeSegment"
  | "level.consumeSpace"
  | "level.memory.consume500k";

/**
 * The store every contestant writes to (only the level driver uses it).
 *
 * @example
 * ```ts ignore
 * const store = await factory.newStore(STORE_ID);
 * ```
 */
export const STORE_ID = "6b1c0e4a-1f7e-4d8a-9c3b-5e2f7a9d0c41";
/**
 * The space every scenario writes to.
 *
 * @example
 * ```ts ignore
 * store.consumeSpace({ space: SPACE });
 * ```
 */
export const SPACE = "bench";
/**
 * How many segments the concurrent scenarios write.
 *
 * @example
 * ```ts ignore
 * const names = segmentNames(CONCURRENT_SEGMENTS); // segment-0 .. segment-7
 * ```
 */
export const CONCURRENT_SEGMENTS = 8;
/**
 * Payload bytes per entry.
 *
 * @example
 * ```ts ignore
 * console.log(makePayloads(1, DEFAULT_SEED)[0].length === PAYLOAD_BYTES); // true
 * ```
 */
export const PAYLOAD_BYTES = 256;
/**
 * Records per chunk: `store.limits.maxChunkRecords` of the level driver.
 *
 * @example
 * ```ts ignore
 * const chunks = prepareSegmentWrites("segment-0", payloads, CHUNK_RECORDS);
 * ```
 */
export const CHUNK_RECORDS = 10_000;
/**
 * The all-zero node id the stores stamp when none is configured.
 *
 * @example
 * ```ts ignore
 * const trx = { id: crypto.randomUUID(), node: NIL_NODE_ID, number: 1 };
 * ```
 */
export const NIL_NODE_ID = "00000000-0000-0000-0000-000000000000";
/**
 * The default seed of the payload generator.
 *
 * @example
 * ```ts ignore
 * const payloads = makePayloads(100_000, DEFAULT_SEED);
 * ```
 */
export const DEFAULT_SEED = 20_240_601;

/**
 * The segment names of a scenario writing `count` segments.
 *
 * @example
 * ```ts ignore
 * console.log(segmentNames(2)); // ["segment-0", "segment-1"]
 * ```
 */
export function segmentNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `segment-${i}`);
}

/**
 * `count` payloads of {@linkcode PAYLOAD_BYTES} seeded random bytes, views into one buffer:
 * every contestant of a run writes the very same bytes.
 *
 * @example
 * ```ts ignore
 * const payloads = makePayloads(100_000, DEFAULT_SEED); // the same bytes in every process
 * ```
 */
export function makePayloads(count: number, seed: number): Uint8Array[] {
  const random = new SeededRandom(seed);
  const words = new Uint32Array(count * PAYLOAD_BYTES / 4);
  for (let i = 0; i < words.length; i++) words[i] = random.u32();
  const bytes = new Uint8Array(words.buffer);
  return Array.from(
    { length: count },
    (_, i) => bytes.subarray(i * PAYLOAD_BYTES, (i + 1) * PAYLOAD_BYTES),
  );
}

/**
 * How `total` entries are split between `segments` segments: the first ones get one more when
 * it does not divide. Segment `s` gets the payloads from `offsets[s]` on.
 *
 * @example
 * ```ts ignore
 * console.log(splitEntries(10, 3)); // { counts: [4, 3, 3], offsets: [0, 4, 7] }
 * ```
 */
export function splitEntries(
  total: number,
  segments: number,
): { counts: number[]; offsets: number[] } {
  const counts = Array.from(
    { length: segments },
    (_, s) => Math.floor(total / segments) + (s < total % segments ? 1 : 0),
  );
  const offsets = counts.map((_, s) => counts.slice(0, s).reduce((a, b) => a + b, 0));
  return { counts, offsets };
}

/**
 * One chunk of writes, precomputed: keys and values in batch order.
 *
 * @example
 * ```ts ignore
 * for (const { keys, values } of chunks) keys.forEach((key, i) => batch.put(key, values[i]));
 * ```
 */
export interface PreparedChunk {
  keys: Uint8Array[];
  values: Uint8Array[];
}

/**
 * The writes the level driver makes for a segment, precomputed for a raw reference: per chunk
 * of at most `chunkRecords` entries, each entry's segment-index and space-index keys with its
 * `encodeEntry` bytes, then the status key with the head, and on the first chunk the two
 * inventory keys. Each chunk gets a fresh trx and a timestamp of its own.
 *
 * @example
 * ```ts ignore
 * const chunks = prepareSegmentWrites("segment-0", makePayloads(20_000, 1), CHUNK_RECORDS);
 * console.log(chunks.length); // 2
 * ```
 */
export function prepareSegmentWrites(
  segment: string,
  payloads: Uint8Array[],
  chunkRecords: number,
): PreparedChunk[] {
  const chunks: PreparedChunk[] = [];
  let firstTimestamp = 0;
  for (let start = 0, number = 1; start < payloads.length; start += chunkRecords, number++) {
    const end = Math.min(start + chunkRecords, payloads.length);
    const timestamp = Date.now() + number;
    if (number === 1) firstTimestamp = timestamp;
    const trx = { id: crypto.randomUUID(), node: NIL_NODE_ID, number };
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    for (let i = start; i < end; i++) {
      const entry: Entry = {
        space: SPACE,
        segment,
        sequence: i + 1,
        timestamp,
        trx,
        payload: payloads[i],
        metadata: {},
      };
      // A buffer of its own: encodeEntry's result may be a view into a shared slab.
      const value = encodeEntry(entry).slice();
      keys.push(segmentEntryKey(SPACE, segment, entry.sequence));
      values.push(value);
      keys.push(spaceEntryKey(SPACE, timestamp, segment, entry.sequence));
      values.push(value);
    }
    const status: SegmentStatus = {
      space: SPACE,
      segment,
      firstSequence: 1,
      firstTimestamp,
      lastSequence: end,
      lastTimestamp: timestamp,
    };
    keys.push(segmentStatusKey(SPACE, segment));
    values.push(encodeHead({ status, trxNumber: number }));
    if (number === 1) {
      keys.push(spaceInventoryKey(SPACE), segmentInventoryKey(SPACE, segment));
      values.push(new Uint8Array(0), new Uint8Array(0));
    }
    chunks.push({ keys, values });
  }
  return chunks;
}

/**
 * What a contestant process prints as its last stdout line.
 *
 * @example
 * ```ts ignore
 * const result = JSON.parse(lastLine) as ChildResult;
 * console.log(result.entriesPerSec);
 * ```
 */
export interface ChildResult {
  contestant: string;
  scenario: ScenarioName;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  /** Scenario-specific numbers (heap samples, chunk sizes). */
  details?: Record<string, unknown>;
}

/**
 * Which part of a scenario a process runs: the untimed `setup` (writing the data a read
 * scenario reads), the timed `measure`, or `all` of it. The orchestrator runs the setup of a
 * read scenario in a process of its own, so the timed process starts without the setup's heap.
 *
 * @example
 * ```ts ignore
 * const phase: Phase = "setup";
 * ```
 */
export type Phase = "setup" | "measure" | "all";

/**
 * The arguments of a contestant process.
 *
 * @example
 * ```ts ignore
 * const args: ChildArgs = { scenario: "level.produce.1seg", phase: "all", entries: 1000, dir: "/tmp/b", seed: 1 };
 * ```
 */
export interface ChildArgs {
  scenario: ScenarioName;
  phase: Phase;
  entries: number;
  dir: string;
  seed: number;
}

/**
 * Reads `--scenario`, `--phase`, `--entries`, `--dir` and `--seed` from `args`.
 *
 * @example
 * ```ts ignore
 * const args = parseChildArgs(["--scenario", "level.produce.1seg", "--dir", "/tmp/b"]);
 * ```
 */
export function parseChildArgs(args: string[]): ChildArgs {
  const value = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const scenario = value("scenario") as ScenarioName | undefined;
  const dir = value("dir");
  const phase = (value("phase") ?? "all") as Phase;
  if (!scenario || !dir || !["setup", "measure", "all"].includes(phase)) {
    throw new Error(
      "usage: --scenario NAME --dir PATH [--phase setup|measure|all] [--entries N] [--seed S]",
    );
  }
  return {
    scenario,
    phase,
    dir,
    entries: Number(value("entries") ?? 100_000),
    seed: Number(value("seed") ?? DEFAULT_SEED),
  };
}

/**
 * What a measurement resolves to.
 *
 * @example
 * ```ts ignore
 * const measured: Measured = throughput(100_000, 0.5);
 * ```
 */
export type Measured = Omit<ChildResult, "contestant" | "scenario">;

/**
 * A scenario as a contestant implements it: an optional untimed setup, then the measurement.
 *
 * @example
 * ```ts ignore
 * const run: ScenarioRun = { measure: async ({ entries }) => throughput(entries, 1) };
 * ```
 */
export interface ScenarioRun {
  setup?: (args: ChildArgs) => Promise<void>;
  measure: (args: ChildArgs) => Promise<Measured>;
}

/**
 * The main of a contestant process: runs the phase of the scenario named on the command line
 * and prints its result as one JSON line (`{"setup":"done"}` after a setup phase). The garbage
 * of the data generation is collected before anything is timed.
 *
 * @example
 * ```ts ignore
 * await runContestant("level", { "level.produce.1seg": { measure: produceOneSegment } });
 * ```
 */
export async function runContestant(
  contestant: string,
  scenarios: Partial<Record<ScenarioName, ScenarioRun>>,
): Promise<void> {
  const args = parseChildArgs(Deno.args);
  const run = scenarios[args.scenario];
  if (!run) throw new Error(`${contestant}: no scenario ${args.scenario}`);
  if (args.phase !== "measure") await run.setup?.(args);
  if (args.phase === "setup") {
    console.log(JSON.stringify({ setup: "done" }));
    return;
  }
  collectGarbage();
  const measured = await run.measure(args);
  const result: ChildResult = { contestant, scenario: args.scenario, ...measured };
  console.log(JSON.stringify(result));
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
 * Timed passes of a read scenario over the same data, in one process.
 *
 * @example
 * ```ts ignore
 * console.log(READ_PASSES); // 5
 * ```
 */
export const READ_PASSES = 5;

/**
 * Runs the read `pass` {@linkcode READ_PASSES} times, each expected to see `entries`, and
 * reports the median pass (the first pass also pays for the JIT; reads do not change the data).
 *
 * @example
 * ```ts ignore
 * const result = await medianReadPass("consume space", 100_000, () => countEntries(store));
 * ```
 */
export async function medianReadPass(
  what: string,
  entries: number,
  pass: () => Promise<number>,
): Promise<
  { entries: number; seconds: number; entriesPerSec: number; details: { passes: number[] } }
> {
  const times: number[] = [];
  for (let i = 0; i < READ_PASSES; i++) {
    const { seconds, value: count } = await timed(pass);
    expectCount(what, count, entries);
    times.push(seconds);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const seconds = sorted[Math.floor(sorted.length / 2)];
  return {
    ...throughput(entries, seconds),
    details: { passes: times.map((t) => Math.round(entries / t)) },
  };
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
 * Options every raw classic-level database of the benchmark opens with.
 *
 * @example
 * ```ts ignore
 * const db = new ClassicLevel<Uint8Array, Uint8Array>(location, LEVEL_OPEN_OPTIONS);
 * ```
 */
export const LEVEL_OPEN_OPTIONS = { keyEncoding: "view", valueEncoding: "view" } as const;

/**
 * Compacts the whole LevelDB directory `location` and closes it, so a timed read starts from
 * the same settled files for every contestant instead of racing background compactions.
 *
 * @example
 * ```ts ignore
 * await compactLevel(join(dir, STORE_ID)); // before a timed read
 * ```
 */
export async function compactLevel(location: string): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, LEVEL_OPEN_OPTIONS);
  await db.open();
  try {
    await db.compactRange(new Uint8Array([0x00]), new Uint8Array(64).fill(0xff));
  } finally {
    await db.close();
  }
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
 * Bytes to MiB, one decimal.
 *
 * @example
 * ```ts ignore
 * console.log(mebibytes(3 * 1024 * 1024)); // 3
 * ```
 */
export function mebibytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}
