/**
 * The benchmark's workload, the same for every contestant: the scenarios (what each one does,
 * on which driver), the seeded payloads split over the segments, and the entries the driver
 * commits for them, so that every contestant of a run writes the same keys and the same bytes.
 *
 * @module
 */

import type { Entry, Trx } from "../../core/mod.ts";
import { SeededRandom } from "../../core/_test_random.ts";
import type { RemoteFollowers } from "./_remote_followers.ts";
import type { SimulatedNetwork } from "./_simulator.ts";

/**
 * The driver a scenario measures: `remote` is the remote driver (a `RemoteStoreFactory`) in
 * front of a server process on the level driver.
 *
 * @example
 * ```ts ignore
 * const driver: Driver = WORKLOADS["azure.consumeSpace"].driver; // "azure"
 * ```
 */
export type Driver = "level" | "azure" | "remote";

/**
 * What a read scenario consumes: one segment, or the space its segments were written to.
 *
 * @example
 * ```ts ignore
 * const read: Read = "space";
 * ```
 */
export type Read = "segment" | "space";

/**
 * How many round trips a latency scenario times, after how many untimed ones.
 *
 * @example
 * ```ts ignore
 * const samples: LatencySamples = { warmUp: 300, timed: 3_000 };
 * ```
 */
export interface LatencySamples {
  warmUp: number;
  timed: number;
}

/**
 * A `streamkit` command a CLI scenario runs: `copy` (into a fresh LevelDB database) or
 * `export` (to a file).
 *
 * @example
 * ```ts ignore
 * const command: CliCommand = WORKLOADS["cli.copy.level"].command; // "copy"
 * ```
 */
export type CliCommand = "copy" | "export";

/**
 * The driver's retries (its `retry` option) in a scenario that is throttled on purpose.
 *
 * @example
 * ```ts ignore
 * const retry: RetrySettings = { maxRetries: 40, baseDelayMs: 50, maxDelayMs: 500 };
 * ```
 */
export interface RetrySettings {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * How a space-scaling scenario runs: for each shard count in `shards`, a fresh store of that
 * many space shards, written through `factories` factory instances by `writers` concurrent
 * writers, each streaming chunks to `segments ÷ writers` segments of its own (to each, one
 * produce call after another, of `chunksPerProduce` full chunks each), all on `network` (the
 * partition limits on); entries per second over `timedSeconds` after `warmUpSeconds`.
 *
 * @example
 * ```ts ignore
 * const { shards, timedSeconds } = WORKLOADS["azure.space.scale"].scale;
 * ```
 */
export interface SpaceScale {
  shards: readonly number[];
  segments: number;
  writers: number;
  factories: number;
  chunksPerProduce: number;
  warmUpSeconds: number;
  timedSeconds: number;
  network: SimulatedNetwork;
  /** Azure's scalability targets divided by this give `network`'s limits. */
  scaledDownBy: number;
  retry: RetrySettings;
}

/**
 * How a cross-process following scenario runs: `writers` writer processes (then 1, the
 * reference), each writing `segmentsPerWriter` segments of its own concurrently in produce calls
 * of `chunkRecords` records, and a follower of the space in the measuring process, each of them
 * behind a simulator of its own with `network`. The follower polls at most `pollIntervalMs`
 * apart; `allowanceMs` is the driver's default `maxClockSkewMs`, which the latency goal counts.
 *
 * @example
 * ```ts ignore
 * const { writers, pollIntervalMs } = WORKLOADS["azure.follow.crossProcess"].cross;
 * ```
 */
export interface CrossProcess {
  writers: number;
  segmentsPerWriter: number;
  chunkRecords: number;
  network: SimulatedNetwork;
  pollIntervalMs: number;
  allowanceMs: number;
}

/**
 * How the processor takeover runs: instances of a processor with a lease of `ttlMs`, each in a
 * process behind a simulator with `network`, while a chunk is produced every
 * `produceIntervalMs`; the holder is SIGKILLed `kills` times.
 *
 * @example
 * ```ts ignore
 * const { ttlMs, kills } = WORKLOADS["azure.processor.takeover"].takeover;
 * ```
 */
export interface ProcessorTakeover {
  ttlMs: number;
  kills: number;
  network: SimulatedNetwork;
  produceIntervalMs: number;
}

/**
 * What a scenario does, the same for every contestant: produce into `segments` segments
 * concurrently, consume what a setup wrote, consume while sampling the heap (`memory`), time
 * single entries from their produce to a follower in the same process (`followLatency`), or
 * read what a setup wrote in two ways, each the other's reference: following the space from
 * its start to the live end against `consumeSpace` (`catchUp`), and one `consume` merging
 * `spaces` spaces against `consumeSpace` of each in turn (`merge`); or run the `streamkit`
 * `command` on what a setup wrote, as a process of its own, against the driver doing the
 * matching job in the measuring process (`cli`: copy against produce, export against
 * `consumeSpace`); or produce or consume as above through the Azure simulator's `network`
 * (`simulatedProduce`, `simulatedConsume`); or measure how a space's write throughput grows
 * with its shards under the simulator's partition limits (`spaceScale`); or time entries from
 * their commit in writer processes to a follower in another (`crossProcess`); or time a commit
 * to its delivery at many idle followers of one server, and the server's memory (`followers`);
 * or time a processor's takeover after the SIGKILL of its lease's holder (`processorTakeover`).
 *
 * @example
 * ```ts ignore
 * const workload: Workload = { driver: "level", kind: "consume", read: "space" };
 * ```
 */
export type Workload =
  | { driver: Driver; kind: "produce"; segments: number }
  | { driver: Driver; kind: "consume"; read: Read }
  | { driver: Driver; kind: "memory" }
  | { driver: Driver; kind: "followLatency"; samples: LatencySamples }
  | { driver: Driver; kind: "catchUp" }
  | { driver: Driver; kind: "processor" }
  | { driver: Driver; kind: "merge"; spaces: number }
  | { driver: Driver; kind: "cli"; command: CliCommand }
  | { driver: Driver; kind: "simulatedProduce"; segments: number; network: SimulatedNetwork }
  | { driver: Driver; kind: "simulatedConsume"; read: Read; network: SimulatedNetwork }
  | { driver: Driver; kind: "spaceScale"; scale: SpaceScale }
  | { driver: Driver; kind: "crossProcess"; cross: CrossProcess }
  | { driver: Driver; kind: "followers"; followers: RemoteFollowers }
  | { driver: Driver; kind: "processorTakeover"; takeover: ProcessorTakeover };

/** The kinds of scenario that time their own writes: they have no setup. */
const WRITING_KINDS: ReadonlySet<Workload["kind"]> = new Set([
  "produce",
  "followLatency",
  "simulatedProduce",
  "spaceScale",
  "crossProcess",
  "followers",
  "processorTakeover",
]);

/**
 * Whether a scenario reads what an untimed setup process wrote before it: every scenario but
 * the ones that time their own writes.
 *
 * @example
 * ```ts ignore
 * console.log(hasSetup(WORKLOADS["level.consumeSpace"])); // true
 * ```
 */
export function hasSetup(workload: Workload): boolean {
  return !WRITING_KINDS.has(workload.kind);
}

/**
 * How many segments the concurrent scenarios write.
 *
 * @example
 * ```ts ignore
 * const workload: Workload = { driver: "level", kind: "produce", segments: CONCURRENT_SEGMENTS };
 * ```
 */
export const CONCURRENT_SEGMENTS = 8;

/**
 * Azure's round trip within a region, give or take: 10 ms ± 1 ms, and no limits (the
 * scenarios on it write and read far below Azure's targets).
 *
 * @example
 * ```ts ignore
 * const workload: Workload = { driver: "azure", kind: "simulatedProduce", segments: 1, network: RTT10 };
 * ```
 */
export const RTT10: SimulatedNetwork = {
  latencyMs: 10,
  jitterMs: 1,
  partitionEntitiesPerSecond: 0,
  accountRequestsPerSecond: 0,
  burstSeconds: 1,
};

/**
 * Azure's scalability targets divided by {@linkcode SCALED_DOWN_BY}: 2,000 entities per second
 * and partition, 20,000 requests per second on the account. Azurite on a small machine takes
 * no more than some 2,500 entries per second (each one a row in its segment and one in its
 * space), so 8 shards at Azure's own rate (16,000 entries per second) would measure Azurite;
 * divided, the partitions stay the bottleneck and the proportions stay Azure's.
 */
const AZURE_PARTITION_ENTITIES_PER_SECOND = 2_000;
const AZURE_ACCOUNT_REQUESTS_PER_SECOND = 20_000;
const SCALED_DOWN_BY = 8;

/**
 * Every scenario of the benchmark, by name, and what it does.
 *
 * @example
 * ```ts ignore
 * console.log(WORKLOADS["level.produce.8seg"].segments); // 8
 * ```
 */
export const WORKLOADS = {
  "level.produce.1seg": { driver: "level", kind: "produce", segments: 1 },
  "level.produce.8seg": { driver: "level", kind: "produce", segments: CONCURRENT_SEGMENTS },
  "level.consumeSegment": { driver: "level", kind: "consume", read: "segment" },
  "level.consumeSpace": { driver: "level", kind: "consume", read: "space" },
  "level.memory.consume500k": { driver: "level", kind: "memory" },
  "level.follow.latency": {
    driver: "level",
    kind: "followLatency",
    samples: { warmUp: 300, timed: 3_000 },
  },
  "level.follow.catchup": { driver: "level", kind: "catchUp" },
  // runProcessor saving a checkpoint per batch of 500, against a plain follow, to caught-up.
  "level.processor.throughput": { driver: "level", kind: "processor" },
  "level.consume.merge8": { driver: "level", kind: "merge", spaces: CONCURRENT_SEGMENTS },
  // The data of level.consumeSpace, copied or exported by the `streamkit` command.
  "cli.copy.level": { driver: "level", kind: "cli", command: "copy" },
  "cli.export.level": { driver: "level", kind: "cli", command: "export" },
  "azure.produce.1seg": { driver: "azure", kind: "produce", segments: 1 },
  "azure.produce.8seg": { driver: "azure", kind: "produce", segments: CONCURRENT_SEGMENTS },
  "azure.consumeSegment": { driver: "azure", kind: "consume", read: "segment" },
  "azure.consumeSpace": { driver: "azure", kind: "consume", read: "space" },
  // A follower of another factory learns of a commit by polling, at most its poll interval
  // (250 ms) apart: 220 round trips take at most about a minute, some 10 s when each commit is
  // found by the first poll after it.
  "azure.follow.latency": {
    driver: "azure",
    kind: "followLatency",
    samples: { warmUp: 20, timed: 200 },
  },
  // Through the simulator: a steady stream to one segment, and a read of a space of the
  // driver's default shard count, each against the raw library on the same network.
  "azure.produce.rtt10": { driver: "azure", kind: "simulatedProduce", segments: 1, network: RTT10 },
  "azure.consumeSpace.rtt10": {
    driver: "azure",
    kind: "simulatedConsume",
    read: "space",
    network: RTT10,
  },
  // One space of 32 segments under the partition limits, written with 1 to 8 shards: whether
  // its throughput grows with them. A produce call ends once its chunks are in the space index
  // (the driver's fanout), so calls of 4 chunks bound what a writer owes the index; one endless
  // call per segment would commit far ahead of the index (nothing in the driver holds commits
  // back), and on one Azurite those commits take the CPU the index's writes need, which Azure's
  // separate partitions would not. The buckets hold 1 s of their rate: 3 s of warm-up spend
  // the first burst, and 10 s timed weigh what bursts remain at a tenth at most. The retries
  // wait for tokens to come back (90 entities take 0.36 s of a partition's 250 per second):
  // 40 of them, doubling from 50 ms up to 0.5 s (with full jitter: some 9 s of patience), so
  // that a chunk queued behind others on a throttled shard does not give up (the driver's
  // default, 6 retries up to 2 s, can), and none sleeps long past its turn.
  "azure.space.scale": {
    driver: "azure",
    kind: "spaceScale",
    scale: {
      shards: [1, 2, 4, 8],
      segments: 32,
      writers: 8,
      factories: 4,
      chunksPerProduce: 4,
      warmUpSeconds: 3,
      timedSeconds: 10,
      network: {
        ...RTT10,
        partitionEntitiesPerSecond: AZURE_PARTITION_ENTITIES_PER_SECOND / SCALED_DOWN_BY,
        accountRequestsPerSecond: AZURE_ACCOUNT_REQUESTS_PER_SECOND / SCALED_DOWN_BY,
      },
      scaledDownBy: SCALED_DOWN_BY,
      // A throttled space index must wait, not fail: the scenario measures throughput there.
      retry: { maxRetries: 1_000, baseDelayMs: 50, maxDelayMs: 500 },
    },
  },
  // Writer processes and a follower in another process, each through a simulator of its own:
  // the entries of `--azure-entries` split over the 4 writers, 3 segments each, in produce
  // calls of 10 records; then one writer alone with the share of one of them. The follower
  // polls at the default interval; the driver's options are its defaults.
  "azure.follow.crossProcess": {
    driver: "azure",
    kind: "crossProcess",
    cross: {
      writers: 4,
      segmentsPerWriter: 3,
      chunkRecords: 10,
      network: RTT10,
      pollIntervalMs: 1_000,
      allowanceMs: 500,
    },
  },
  // Three processor instances over time, two at once (the lease's holder and one waiting), each
  // in a process behind a simulator of its own, the holder SIGKILLed 5 times.
  "azure.processor.takeover": {
    driver: "azure",
    kind: "processorTakeover",
    takeover: { ttlMs: 5_000, kills: 5, network: RTT10, produceIntervalMs: 100 },
  },
  // The remote driver through a server process on 127.0.0.1 (the level driver on a fresh
  // directory behind it), against the level driver embedded in the measuring process: the
  // same entries, segments and chunks (a produce call per segment, 10,000-record chunks).
  "remote.produce.1seg": { driver: "remote", kind: "produce", segments: 1 },
  // The data of level.consumeSpace, written by the level driver straight to the directory and
  // compacted; the server opens it for the timed process.
  "remote.consumeSpace": { driver: "remote", kind: "consume", read: "space" },
  // Writer and follower on two client factories of one server: every sample crosses the
  // loopback twice (the produce request, the follow's streamed response).
  "remote.follow.latency": {
    driver: "remote",
    kind: "followLatency",
    samples: { warmUp: 300, timed: 3_000 },
  },
  // 1,000 idle follows of one space over 10 client factories (one HTTP stream each: within the
  // server's default maxStreamsPerToken of 1,024, the writer's produce stream included), then
  // single commits one after the other, each awaited at every follower.
  "remote.followers.1000": {
    driver: "remote",
    kind: "followers",
    followers: { followers: 1_000, factories: 10, commits: { warmUp: 3, timed: 20 } },
  },
} as const satisfies Record<string, Workload>;

/**
 * The name of a scenario.
 *
 * @example
 * ```ts ignore
 * const scenario: ScenarioName = "level.consumeSpace";
 * ```
 */
export type ScenarioName = keyof typeof WORKLOADS;

/**
 * The store every contestant writes to (only the streamkit contestants use it).
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
 * The spaces a merge scenario writes, one segment each: `bench-0`, `bench-1`, ...
 *
 * @example
 * ```ts ignore
 * console.log(mergedSpaces(2)); // ["bench-0", "bench-1"]
 * ```
 */
export function mergedSpaces(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${SPACE}-${i}`);
}
/**
 * Payload bytes per entry.
 *
 * @example
 * ```ts ignore
 * console.log(segmentPayloads(1, 1, DEFAULT_SEED)[0].payloads[0].length === PAYLOAD_BYTES); // true
 * ```
 */
export const PAYLOAD_BYTES = 256;
/**
 * The default seed of the payload generator.
 *
 * @example
 * ```ts ignore
 * const segments = segmentPayloads(100_000, 1, DEFAULT_SEED);
 * ```
 */
export const DEFAULT_SEED = 20_240_601;
/** The all-zero node id the stores stamp when none is configured. */
const NIL_NODE_ID = "00000000-0000-0000-0000-000000000000";

/**
 * How many segments a read scenario writes before it reads: one for a segment read, the
 * concurrent ones for a space read.
 *
 * @example
 * ```ts ignore
 * console.log(SEGMENTS_WRITTEN.space); // 8
 * ```
 */
export const SEGMENTS_WRITTEN: Record<Read, number> = {
  segment: 1,
  space: CONCURRENT_SEGMENTS,
};

/**
 * The name of segment `index` of a scenario.
 *
 * @example
 * ```ts ignore
 * console.log(segmentName(0)); // "segment-0"
 * ```
 */
export function segmentName(index: number): string {
  return `segment-${index}`;
}

/**
 * The segment a segment read consumes: the first one written.
 *
 * @example
 * ```ts ignore
 * store.consumeSegment({ space: SPACE, segment: READ_SEGMENT });
 * ```
 */
export const READ_SEGMENT: string = segmentName(0);

/**
 * A segment's name and the payloads written to it, in sequence order from 1.
 *
 * @example
 * ```ts ignore
 * const { segment, payloads }: SegmentPayloads = segmentPayloads(10, 1, DEFAULT_SEED)[0];
 * ```
 */
export interface SegmentPayloads {
  segment: string;
  payloads: Uint8Array[];
}

/**
 * The payloads of a scenario writing `entries` payloads of {@linkcode PAYLOAD_BYTES} seeded
 * random bytes (views into one buffer) to `segments` segments: the first segments get one
 * more when it does not divide. Every contestant of a run writes the very same bytes.
 *
 * @example
 * ```ts ignore
 * const split = segmentPayloads(10, 3, DEFAULT_SEED);
 * console.log(split.map((s) => s.payloads.length)); // [4, 3, 3]
 * ```
 */
export function segmentPayloads(
  entries: number,
  segments: number,
  seed: number,
): SegmentPayloads[] {
  const random = new SeededRandom(seed);
  const words = new Uint32Array(entries * PAYLOAD_BYTES / 4);
  for (let i = 0; i < words.length; i++) words[i] = random.u32();
  const bytes = new Uint8Array(words.buffer);
  const split: SegmentPayloads[] = [];
  for (let s = 0, start = 0; s < segments; s++) {
    const count = Math.floor(entries / segments) + (s < entries % segments ? 1 : 0);
    const payloads = Array.from(
      { length: count },
      (_, i) => bytes.subarray((start + i) * PAYLOAD_BYTES, (start + i + 1) * PAYLOAD_BYTES),
    );
    split.push({ segment: segmentName(s), payloads });
    start += count;
  }
  return split;
}

/**
 * The payloads of {@linkcode segmentPayloads} for one segment, each generated as it is pulled
 * (a buffer of its own): a writer of many entries holds no big array.
 *
 * @example
 * ```ts ignore
 * for (const payload of lazyPayloads(500_000, DEFAULT_SEED)) records.push(payload);
 * ```
 */
export function* lazyPayloads(entries: number, seed: number): Generator<Uint8Array> {
  const random = new SeededRandom(seed);
  for (let n = 0; n < entries; n++) {
    const words = new Uint32Array(PAYLOAD_BYTES / 4);
    for (let i = 0; i < words.length; i++) words[i] = random.u32();
    yield new Uint8Array(words.buffer);
  }
}

/**
 * A fresh trx (a new UUID, the nil node) numbered `number`.
 *
 * @example
 * ```ts ignore
 * const trx = newTrx(1);
 * ```
 */
export function newTrx(number: number): Trx {
  return { id: crypto.randomUUID(), node: NIL_NODE_ID, number };
}

/**
 * An entry of the benchmark's space, without metadata.
 *
 * @example
 * ```ts ignore
 * const entry = benchEntry("segment-0", 1, Date.now(), newTrx(1), payload);
 * ```
 */
export function benchEntry(
  segment: string,
  sequence: number,
  timestamp: number,
  trx: Trx,
  payload: Uint8Array,
): Entry {
  return { space: SPACE, segment, sequence, timestamp, trx, payload, metadata: {} };
}

/**
 * The entries a driver commits for `payloads` written to `segment`, chunk by chunk: at most
 * `chunkRecords` a chunk, each chunk with a fresh trx and a timestamp of its own (taken as the
 * chunk is pulled, one millisecond apart at least).
 *
 * @example
 * ```ts ignore
 * for (const chunk of entryChunks("segment-0", payloads, 10_000)) batch(chunk.map(encodeEntry));
 * ```
 */
export function* entryChunks(
  segment: string,
  payloads: Uint8Array[],
  chunkRecords: number,
): Generator<Entry[]> {
  for (let start = 0, number = 1; start < payloads.length; start += chunkRecords, number++) {
    const timestamp = Date.now() + number;
    const trx = newTrx(number);
    yield payloads.slice(start, start + chunkRecords).map((payload, i) =>
      benchEntry(segment, start + i + 1, timestamp, trx, payload)
    );
  }
}
