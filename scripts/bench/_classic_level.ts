/**
 * The benchmark's reference "classic-level": the raw library doing the level driver's writes
 * and reads through its fastest paths. Writes: the same keys and value bytes (precomputed
 * before the clock starts, since this stands for the library alone), in chained batches of the
 * same size, `sync: true`, on a database opened with the driver's options. Reads: a `values()`
 * iterator over the same key range with the driver's page size and `highWaterMarkBytes`
 * (`LEVEL_READ_OPTIONS`), `nextv` in a loop, decoding nothing. Run by `scripts/bench.ts`, one scenario per process.
 *
 * @module
 */

import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { segmentIndexPrefix, spaceIndexPrefix } from "../../core/mod.ts";
import {
  type ChildArgs,
  CHUNK_RECORDS,
  compactLevel,
  CONCURRENT_SEGMENTS,
  LEVEL_OPEN_OPTIONS,
  makePayloads,
  medianReadPass,
  PAYLOAD_BYTES,
  type PreparedChunk,
  prepareSegmentWrites,
  runContestant,
  type ScenarioRun,
  segmentNames,
  SPACE,
  splitEntries,
  throughput,
  timed,
} from "./_shared.ts";
import { LEVEL_READ_OPTIONS } from "../../drivers/level/_level_backend.ts";

type Database = ClassicLevel<Uint8Array, Uint8Array>;

async function withDatabase<T>(dir: string, body: (db: Database) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, "raw"), LEVEL_OPEN_OPTIONS);
  await db.open();
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

function prepare(entries: number, segments: number, seed: number): PreparedChunk[][] {
  const payloads = makePayloads(entries, seed);
  const { counts, offsets } = splitEntries(entries, segments);
  return segmentNames(segments).map((segment, s) =>
    prepareSegmentWrites(segment, payloads.slice(offsets[s], offsets[s] + counts[s]), CHUNK_RECORDS)
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

async function writeAll(db: Database, segments: PreparedChunk[][]) {
  return await timed(() => Promise.all(segments.map((chunks) => writeChunks(db, chunks))));
}

async function produce({ entries, dir, seed }: ChildArgs, segments: number) {
  const prepared = prepare(entries, segments, seed);
  return await withDatabase(dir, async (db) => {
    const { seconds } = await writeAll(db, prepared);
    return throughput(entries, seconds);
  });
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
  if (bytes <= count * PAYLOAD_BYTES) throw new Error("values shorter than their payloads");
  return count;
}

function consume(what: "segment" | "space"): ScenarioRun {
  const segments = what === "segment" ? 1 : CONCURRENT_SEGMENTS;
  const prefix = what === "segment"
    ? segmentIndexPrefix(SPACE, segmentNames(1)[0])
    : spaceIndexPrefix(SPACE);
  // The prefix ends in the 0x00 separator: [prefix, prefix with 0x01) is exactly that name.
  const end = prefix.slice();
  end[end.length - 1] = 0x01;
  return {
    setup: async ({ entries, dir, seed }) => {
      const prepared = prepare(entries, segments, seed);
      await withDatabase(dir, (db) => writeAll(db, prepared));
      await compactLevel(join(dir, "raw"));
    },
    measure: ({ entries, dir }) =>
      withDatabase(
        dir,
        (db) => medianReadPass(`consume ${what}`, entries, () => countValues(db, prefix, end)),
      ),
  };
}

if (import.meta.main) {
  await runContestant("classic-level", {
    "level.produce.1seg": { measure: (args) => produce(args, 1) },
    "level.produce.8seg": { measure: (args) => produce(args, CONCURRENT_SEGMENTS) },
    "level.consumeSegment": consume("segment"),
    "level.consumeSpace": consume("space"),
  });
}
