/**
 * The benchmark's contestant "level": streamkit's LevelDB driver through the public `Store`
 * API, in a fresh directory per scenario. It alone also runs the memory scenario (consuming
 * many entries while sampling the heap) and the scenarios that compare two of its own reads:
 * a follow catching up against `consumeSpace`, and a merging `consume` against `consumeSpace`
 * of each space.
 *
 * @module
 */

import { join } from "node:path";
import type { ProduceRecord, Store } from "../../core/mod.ts";
import { LevelStoreFactory } from "../../drivers/level/mod.ts";
import {
  collectGarbage,
  type Contestant,
  expectCount,
  medianComparedPasses,
  medianReadPass,
  PASSES,
  type ScenarioArgs,
  type ScenarioRun,
  throughput,
  timed,
} from "./_contestant.ts";
import { compactLevel } from "./_leveldb.ts";
import {
  consumed,
  countEntries,
  countUntilCaughtUp,
  followLatency,
  produceSegments,
  segmentRecords,
} from "./_streamkit_store.ts";
import {
  lazyPayloads,
  mergedSpaces,
  type Read,
  READ_SEGMENT,
  SEGMENTS_WRITTEN,
  SPACE,
  STORE_ID,
} from "./_workload.ts";

async function withStore<T>(dir: string, body: (store: Store) => Promise<T>): Promise<T> {
  await using factory = new LevelStoreFactory({ path: dir });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

/** Records with payloads generated as they are pulled: the setup holds no big array. */
function* lazyRecords(entries: number, seed: number): Generator<ProduceRecord> {
  let sequence = 0;
  for (const payload of lazyPayloads(entries, seed)) yield { sequence: ++sequence, payload };
}

const SAMPLE_EVERY = 10_000;

function mebibytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}

/** Consumes `entries` sampling the heap every 10,000 entries: before, peak and after. */
async function sampleHeap(entries: AsyncIterable<unknown>) {
  collectGarbage();
  const before = Deno.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  let count = 0;
  const start = performance.now();
  for await (const _entry of entries) {
    if (++count % SAMPLE_EVERY === 0) {
      const { heapUsed, rss } = Deno.memoryUsage();
      if (heapUsed > peakHeap) peakHeap = heapUsed;
      if (rss > peakRss) peakRss = rss;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const afterNoGc = Deno.memoryUsage().heapUsed;
  collectGarbage();
  const after = Deno.memoryUsage();
  return {
    count,
    entriesPerSec: Math.round(count / seconds),
    heapBeforeMiB: mebibytes(before.heapUsed),
    heapPeakMiB: mebibytes(Math.max(peakHeap, afterNoGc)),
    heapAfterMiB: mebibytes(after.heapUsed),
    rssBeforeMiB: mebibytes(before.rss),
    rssPeakMiB: mebibytes(Math.max(peakRss, after.rss)),
  };
}

/** Writes one segment, then consumes the space and the segment, sampling the heap of each. */
const memory: ScenarioRun<"level"> = {
  setup: ({ entries, dir, seed }) =>
    withStore(
      dir,
      (store) =>
        produceSegments(store, [{ segment: READ_SEGMENT, records: lazyRecords(entries, seed) }]),
    ),
  measure: ({ entries, dir }) =>
    withStore(dir, async (store) => {
      const space = await sampleHeap(consumed(store, "space"));
      expectCount("consume space", space.count, entries);
      const segmentRead = await sampleHeap(consumed(store, "segment"));
      expectCount("consume segment", segmentRead.count, entries);
      const { count: _a, ...consumeSpace } = space;
      const { count: _b, ...consumeSegment } = segmentRead;
      return {
        entries,
        seconds: entries / consumeSpace.entriesPerSec,
        entriesPerSec: consumeSpace.entriesPerSec,
        details: {
          heapBeforeMiB: Math.min(consumeSpace.heapBeforeMiB, consumeSegment.heapBeforeMiB),
          heapPeakMiB: Math.max(consumeSpace.heapPeakMiB, consumeSegment.heapPeakMiB),
          heapAfterMiB: consumeSegment.heapAfterMiB,
          consumeSpace,
          consumeSegment,
        },
      };
    }),
};

/** Writes what a `read` scenario reads and compacts the files. */
function setupRead(read: Read): (args: ScenarioArgs<"level">) => Promise<void> {
  return async ({ entries, dir, seed }) => {
    const records = segmentRecords(entries, SEGMENTS_WRITTEN[read], seed);
    await withStore(dir, (store) => produceSegments(store, records));
    await compactLevel(join(dir, STORE_ID));
  };
}

/** Follows the space from its start to its first `caught-up`, against `consumeSpace`. */
const catchUp: ScenarioRun<"level"> = {
  setup: setupRead("space"),
  measure: ({ entries, dir }) =>
    withStore(dir, (store) =>
      medianComparedPasses(
        entries,
        PASSES.levelComparedRead,
        {
          what: "follow to caught-up",
          count: () => countUntilCaughtUp(store.follow({ spaces: { [SPACE]: undefined } })),
        },
        "consumeSpace",
        { what: "consume space", count: () => countEntries(store.consumeSpace({ space: SPACE })) },
      )),
};

/**
 * Writes `spaces` spaces of one segment each (the spaces concurrently, so the timestamps of
 * their chunks interleave), then times one `consume` of all of them against `consumeSpace` of
 * each in turn.
 */
function merge(spaces: number): ScenarioRun<"level"> {
  const names = mergedSpaces(spaces);
  return {
    setup: async ({ entries, dir, seed }) => {
      const records = segmentRecords(entries, spaces, seed);
      await withStore(
        dir,
        (store) =>
          Promise.all(names.map((space, i) => produceSegments(store, [records[i]], space))),
      );
      await compactLevel(join(dir, STORE_ID));
    },
    measure: ({ entries, dir }) =>
      withStore(dir, (store) => {
        const all = Object.fromEntries(names.map((space) => [space, undefined]));
        return medianComparedPasses(
          entries,
          PASSES.levelComparedRead,
          { what: "consume merged", count: () => countEntries(store.consume({ spaces: all })) },
          "consumeSpace",
          {
            what: "consume each space",
            count: async () => {
              let count = 0;
              for (const space of names) count += await countEntries(store.consumeSpace({ space }));
              return count;
            },
          },
        );
      }),
  };
}

/**
 * Streamkit's level driver: produce is timed once over every segment; reads are timed over
 * compacted files, the median of the passes.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(8).measure({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export const contestant: Contestant<"level"> = {
  driver: "level",
  produce: (segments) => ({
    measure: ({ entries, dir, seed }) =>
      withStore(dir, async (store) => {
        const records = segmentRecords(entries, segments, seed);
        const { seconds } = await timed(() => produceSegments(store, records));
        return throughput(entries, seconds);
      }),
  }),
  consume: (read) => ({
    setup: setupRead(read),
    measure: ({ entries, dir }) =>
      withStore(
        dir,
        (store) =>
          medianReadPass(
            read,
            entries,
            PASSES.levelRead,
            () => countEntries(consumed(store, read)),
          ),
      ),
  }),
  memory,
  followLatency: (samples) => ({
    measure: ({ dir, seed }) =>
      withStore(dir, (store) => followLatency(store, store, samples, seed)),
  }),
  catchUp,
  merge,
};
