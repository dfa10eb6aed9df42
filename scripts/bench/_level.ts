/**
 * The benchmark's contestant "level": streamkit's LevelDB driver through the public `Store`
 * API. Run by `scripts/bench.ts`, one scenario per process.
 *
 * @module
 */

import { join } from "node:path";
import type { ProduceRecord, Store } from "../../core/mod.ts";
import { LevelStoreFactory } from "../../drivers/level/mod.ts";
import { SeededRandom } from "../../core/_test_random.ts";
import {
  type ChildArgs,
  collectGarbage,
  compactLevel,
  CONCURRENT_SEGMENTS,
  expectCount,
  makePayloads,
  mebibytes,
  medianReadPass,
  PAYLOAD_BYTES,
  runContestant,
  type ScenarioRun,
  segmentNames,
  SPACE,
  splitEntries,
  STORE_ID,
  throughput,
  timed,
} from "./_shared.ts";

async function withStore<T>(dir: string, body: (store: Store) => Promise<T>): Promise<T> {
  await using factory = new LevelStoreFactory({ path: dir });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

function recordsOf(payloads: Uint8Array[]): ProduceRecord[] {
  return payloads.map((payload, i) => ({ sequence: i + 1, payload }));
}

async function produceAll(store: Store, segment: string, records: Iterable<ProduceRecord>) {
  for await (const _status of store.produce({ space: SPACE, segment }, records)) {
    // Each committed chunk yields its status; the loop drives the writes.
  }
}

/** Writes `entries` payloads, split over `segments` segments written concurrently. */
async function produceSegments(store: Store, entries: number, segments: number, seed: number) {
  const payloads = makePayloads(entries, seed);
  const { counts, offsets } = splitEntries(entries, segments);
  const names = segmentNames(segments);
  const records = names.map((_, s) =>
    recordsOf(payloads.slice(offsets[s], offsets[s] + counts[s]))
  );
  return await timed(() =>
    Promise.all(names.map((segment, s) => produceAll(store, segment, records[s])))
  );
}

async function produce({ entries, dir, seed }: ChildArgs, segments: number) {
  return await withStore(dir, async (store) => {
    const { seconds } = await produceSegments(store, entries, segments, seed);
    return throughput(entries, seconds);
  });
}

async function countEntries(entries: AsyncIterable<{ payload: Uint8Array }>): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const entry of entries) {
    count++;
    bytes += entry.payload.length;
  }
  expectCount("payload bytes", bytes, count * PAYLOAD_BYTES);
  return count;
}

function consume(what: "segment" | "space"): ScenarioRun {
  const segments = what === "segment" ? 1 : CONCURRENT_SEGMENTS;
  return {
    setup: async ({ entries, dir, seed }) => {
      await withStore(dir, (store) => produceSegments(store, entries, segments, seed));
      await compactLevel(join(dir, STORE_ID));
    },
    measure: ({ entries, dir }) =>
      withStore(dir, (store) =>
        medianReadPass(`consume ${what}`, entries, () =>
          countEntries(
            what === "segment"
              ? store.consumeSegment({ space: SPACE, segment: segmentNames(1)[0] })
              : store.consumeSpace({ space: SPACE }),
          ))),
  };
}

/** Records with payloads generated as they are pulled: the setup holds no big array. */
function* lazyRecords(entries: number, seed: number): Generator<ProduceRecord> {
  const random = new SeededRandom(seed);
  for (let sequence = 1; sequence <= entries; sequence++) {
    const words = new Uint32Array(PAYLOAD_BYTES / 4);
    for (let i = 0; i < words.length; i++) words[i] = random.u32();
    yield { sequence, payload: new Uint8Array(words.buffer) };
  }
}

const SAMPLE_EVERY = 10_000;

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

const memory: ScenarioRun = {
  setup: ({ entries, dir, seed }) =>
    withStore(dir, (store) => produceAll(store, segmentNames(1)[0], lazyRecords(entries, seed))),
  measure: ({ entries, dir }) =>
    withStore(dir, async (store) => {
      const segment = segmentNames(1)[0];
      const space = await sampleHeap(store.consumeSpace({ space: SPACE }));
      expectCount("consume space", space.count, entries);
      const segmentRead = await sampleHeap(store.consumeSegment({ space: SPACE, segment }));
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

if (import.meta.main) {
  await runContestant("level", {
    "level.produce.1seg": { measure: (args) => produce(args, 1) },
    "level.produce.8seg": { measure: (args) => produce(args, CONCURRENT_SEGMENTS) },
    "level.consumeSegment": consume("segment"),
    "level.consumeSpace": consume("space"),
    "level.memory.consume500k": memory,
  });
}
