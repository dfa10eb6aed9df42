/**
 * The peers benchmark's streamkit contestants, "level" and "memory", through the public `Store`
 * API: each append one `produce` whose sequences must continue the segment (its expected
 * version).
 *
 * @module
 */

import { join } from "node:path";
import type { Store } from "../../../core/mod.ts";
import { LevelStoreFactory } from "../../../drivers/level/mod.ts";
import { MemoryStoreFactory } from "../../../drivers/memory/mod.ts";
import type { BackendStoreFactory } from "../../../core/driver.ts";
import {
  medianPass,
  medianReadPass,
  PASSES,
  type Passes,
  type ScenarioRun,
  throughput,
  timed,
} from "../_contestant.ts";
import { compactLevel } from "../_leveldb.ts";
import { countEntries, produceSegments, type SegmentRecords } from "../_streamkit_store.ts";
import { SPACE, STORE_ID } from "../_workload.ts";
import {
  appendOrder,
  type PeerArgs,
  type PeerContestant,
  type PeerStream,
  peerStreams,
  STREAM_NAMES,
} from "./_workload.ts";

/**
 * The appends of the workload as `produce` calls, built before the clock starts: per append
 * the segment and its records, numbered from the segment's head + 1.
 */
function produceCalls(streams: PeerStream[]): SegmentRecords[] {
  return appendOrder(streams).map(({ stream, start, end }) => ({
    segment: streams[stream].name,
    records: streams[stream].payloads.slice(start, end).map((payload, i) => ({
      sequence: start + i + 1,
      payload,
    })),
  }));
}

/** Makes every `produce` call in turn, each awaited (one chunk, one commit). */
async function appendAll(store: Store, calls: SegmentRecords[]): Promise<void> {
  for (const call of calls) await produceSegments(store, [call], SPACE);
}

/** Appends the whole workload, untimed: what the read scenarios read. */
function appendWorkload(store: Store, { entries, seed }: PeerArgs): Promise<void> {
  return appendAll(store, produceCalls(peerStreams(entries, seed)));
}

/** Each stream read back in full, one after the other, counting and checking the entries. */
async function readStreams(store: Store): Promise<number> {
  let count = 0;
  for (const segment of STREAM_NAMES) {
    count += await countEntries(store.consumeSegment({ space: SPACE, segment }));
  }
  return count;
}

/** How a streamkit contestant differs from the other one. */
interface StreamkitDriver {
  persistent: boolean;
  /** Runs `body` on the store of a run's directory. */
  withStoreIn<T>(dir: string, body: (store: Store) => Promise<T>): Promise<T>;
  /** Compacts the store's files after a read's setup has appended, before they are read. */
  compact?(dir: string): Promise<void>;
  /** Set, the append is timed in several passes, each on a fresh store, the median counting. */
  appendPasses?: Passes;
}

/** A streamkit contestant: how it appends and reads, the same for both drivers. */
function streamkitContestant(
  { persistent, withStoreIn, compact, appendPasses }: StreamkitDriver,
): PeerContestant {
  const read = (
    kind: "segment" | "space",
    count: (store: Store) => Promise<number>,
  ): ScenarioRun<"level"> => ({
    setup: async (args) => {
      await withStoreIn(args.dir, (store) => appendWorkload(store, args));
      await compact?.(args.dir);
    },
    measure: ({ entries, dir }) =>
      withStoreIn(
        dir,
        (store) => medianReadPass(kind, entries, PASSES.levelRead, () => count(store)),
      ),
  });
  return {
    persistent,
    append: {
      measure: async ({ entries, seed, dir }) => {
        const calls = produceCalls(peerStreams(entries, seed));
        if (!appendPasses) {
          return await withStoreIn(dir, async (store) => {
            const { seconds } = await timed(() => appendAll(store, calls));
            return throughput(entries, seconds);
          });
        }
        return await medianPass("append", entries, appendPasses, async (pass) => {
          const fresh = `${dir}/pass-${pass}`;
          const { seconds } = await withStoreIn(
            fresh,
            (store) => timed(() => appendAll(store, calls)),
          );
          return { seconds, count: entries };
        });
      },
    },
    readStreams: read("segment", (store) => readStreams(store)),
    readAll: read("space", (store) => countEntries(store.consumeSpace({ space: SPACE }))),
  };
}

async function withStoreOf<T>(
  factory: BackendStoreFactory,
  body: (store: Store) => Promise<T>,
): Promise<T> {
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

/**
 * The LevelDB driver: a factory per phase, on the run's directory. A read's setup compacts the
 * files after appending, as the main benchmark's does, so that the timed process does not race
 * the background compactions its opening would start (Emmett's SQLite store needs no such step:
 * each connection's close checkpoints the WAL, inside its timed appends).
 */
export const level: PeerContestant = streamkitContestant({
  persistent: true,
  withStoreIn: async (dir, body) => {
    await using factory = new LevelStoreFactory({ path: dir });
    return await withStoreOf(factory, body);
  },
  compact: (dir) => compactLevel(join(dir, STORE_ID)),
});

/**
 * The memory driver's factory of this process, and the directory it stands for: the read
 * scenarios' setup and measurement run in one process, on the same store; each append pass
 * gets a fresh factory (a directory of its own), the previous one closed.
 */
let memoryFactory: { dir: string; factory: MemoryStoreFactory } | undefined;

/** The memory driver, its append timed in a warm-up and 5 timed passes. */
export const memory: PeerContestant = streamkitContestant({
  persistent: false,
  withStoreIn: async (dir, body) => {
    if (memoryFactory?.dir !== dir) {
      await memoryFactory?.factory.close();
      memoryFactory = { dir, factory: new MemoryStoreFactory() };
    }
    return await withStoreOf(memoryFactory.factory, body);
  },
  appendPasses: { warmUp: 1, timed: 5 },
});
