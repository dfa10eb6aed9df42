/**
 * The benchmark's reference "classic-level": the raw library writing the level driver's keys and
 * bytes, and reading them, through its fastest paths (see `scripts/bench/README.md`).
 *
 * @module
 */

import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { segmentIndexPrefix, spaceIndexPrefix } from "../../core/driver.ts";
import { LEVEL_READ_OPTIONS } from "../../drivers/level/_test_support.ts";
import {
  type Contestant,
  expectStoredBytes,
  medianReadPass,
  PASSES,
  throughput,
  timed,
} from "./_contestant.ts";
import {
  compactLevel,
  LEVEL_OPEN_OPTIONS,
  type PreparedChunk,
  prepareSegmentWrites,
} from "./_leveldb.ts";
import { READ_SEGMENT, segmentPayloads, SEGMENTS_WRITTEN, SPACE } from "./_workload.ts";

type Database = ClassicLevel<Uint8Array, Uint8Array>;

/** The database's directory inside the scenario's directory. */
const DATABASE = "raw";

async function withDatabase<T>(dir: string, body: (db: Database) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, DATABASE), LEVEL_OPEN_OPTIONS);
  await db.open();
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

function prepare(entries: number, segments: number, seed: number): PreparedChunk[][] {
  return segmentPayloads(entries, segments, seed).map(({ segment, payloads }) =>
    prepareSegmentWrites(segment, payloads)
  );
}

/** One reused `Uint8Array` per length: the bytes of each put are copied into it. */
class ReusedViews {
  #views = new Map<number, Uint8Array>();

  of(bytes: Uint8Array): Uint8Array {
    let view = this.#views.get(bytes.length);
    if (view === undefined) {
      view = new Uint8Array(bytes.length);
      this.#views.set(bytes.length, view);
    }
    view.set(bytes);
    return view;
  }
}

/**
 * Writes the precomputed chunks, each as one chained batch with `sync: true`. Each precomputed
 * key and value is copied into a reused view before its `put` (the batch copies the bytes
 * anyway): under Deno's Node-API, handing `put` a distinct typed array per call costs about
 * twice as much per put as re-filling the same one, so this is the faster of the two ways to
 * write the same bytes (measured: 15-35 % more entries/s) and the fairer reference.
 */
async function writeChunks(db: Database, chunks: PreparedChunk[]): Promise<void> {
  const keyViews = new ReusedViews();
  const valueViews = new ReusedViews();
  for (const { keys, values } of chunks) {
    const batch = db.batch();
    for (let i = 0; i < keys.length; i++) batch.put(keyViews.of(keys[i]), valueViews.of(values[i]));
    await batch.write({ sync: true });
  }
}

/** Writes every segment's chunks, the segments concurrently; resolves to the seconds taken. */
async function writeSegments(db: Database, segments: PreparedChunk[][]): Promise<number> {
  const { seconds } = await timed(() =>
    Promise.all(segments.map((chunks) => writeChunks(db, chunks)))
  );
  return seconds;
}

async function countValues(db: Database, gte: Uint8Array, lt: Uint8Array): Promise<number> {
  const { pageEntries, highWaterMarkBytes } = LEVEL_READ_OPTIONS;
  const iterator = db.values({ gte, lt, highWaterMarkBytes });
  let count = 0;
  let bytes = 0;
  try {
    while (true) {
      const page = await iterator.nextv(pageEntries);
      if (page.length === 0) break;
      count += page.length;
      for (let i = 0; i < page.length; i++) bytes += page[i].length;
    }
  } finally {
    await iterator.close();
  }
  expectStoredBytes(count, bytes);
  return count;
}

/**
 * Raw classic-level: produce is timed once over every segment; reads are timed over compacted
 * files, the median of the passes.
 *
 * @example
 * ```ts ignore
 * await contestant.consume("space").measure({ entries: 1_000, seed: DEFAULT_SEED, dir: "/tmp/b" });
 * ```
 */
export const contestant: Contestant<"level"> = {
  driver: "level",
  produce: (segments) => ({
    measure: async ({ entries, dir, seed }) => {
      const prepared = prepare(entries, segments, seed);
      const seconds = await withDatabase(dir, (db) => writeSegments(db, prepared));
      return throughput(entries, seconds);
    },
  }),
  consume: (read) => {
    const prefix = read === "segment"
      ? segmentIndexPrefix(SPACE, READ_SEGMENT)
      : spaceIndexPrefix(SPACE);
    // The prefix ends in the 0x00 separator: [prefix, prefix with 0x01) is exactly that name.
    const end = prefix.slice();
    end[end.length - 1] = 0x01;
    return {
      setup: async ({ entries, dir, seed }) => {
        const prepared = prepare(entries, SEGMENTS_WRITTEN[read], seed);
        await withDatabase(dir, (db) => writeSegments(db, prepared));
        await compactLevel(join(dir, DATABASE));
      },
      measure: ({ entries, dir }) =>
        withDatabase(
          dir,
          (db) =>
            medianReadPass(read, entries, PASSES.levelRead, () => countValues(db, prefix, end)),
        ),
    };
  },
};
