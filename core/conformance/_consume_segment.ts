// Conformance: consumeSegment bounds.

import assert from "node:assert/strict";
import type { ConsumeSegmentArgs, Entry, Store } from "../types.ts";
import { plainEntry, sequencesOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { range, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { produce, readSegment } from "./_store_calls.ts";
import { tickPast } from "./_timing.ts";

type Bounds = Omit<ConsumeSegmentArgs, "space" | "segment">;

/** Four chunks of three records (sequences 1-3, 4-6, 7-9, 10-12), each at a later timestamp. */
interface Timed {
  store: Store;
  entries: Entry[];
  /** The timestamps of chunks 1..4 (index 0 unused). */
  ts: number[];
  read(bounds: Bounds): Promise<number[]>;
}

async function timedSegment(store: Store): Promise<Timed> {
  const ts = [0];
  for (let chunk = 0; chunk < 4; chunk++) {
    if (chunk > 0) await tickPast(ts[chunk]);
    const [status] = await produce(store, "s", "g", records(chunk * 3 + 1, 3));
    ts.push(status.lastTimestamp);
  }
  // Noise next to the segment under test.
  await produce(store, "s", "g2", records(1, 2));
  await produce(store, "s2", "g", records(1, 2));
  const entries = await readSegment(store, "s", "g");
  assert.deepEqual(sequencesOf(entries), range(1, 12));
  for (let chunk = 1; chunk <= 4; chunk++) {
    for (const entry of entries.slice((chunk - 1) * 3, chunk * 3)) {
      assert.equal(entry.timestamp, ts[chunk], "fixture: chunk timestamps");
    }
    if (chunk > 1) assert.ok(ts[chunk] > ts[chunk - 1], "fixture: distinct chunk timestamps");
  }
  return {
    store,
    entries,
    ts,
    read: async (bounds) => sequencesOf(await readSegment(store, "s", "g", bounds)),
  };
}

function withTimed(ctx: Ctx, fn: (timed: Timed) => Promise<void>): () => Promise<void> {
  return () => withFreshStore(ctx, async (store) => fn(await timedSegment(store)));
}

export function registerConsumeSegment(ctx: Ctx): void {
  define(
    ctx,
    "consumeSegment: without bounds, every entry in ascending sequence",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({}), range(1, 12));
      const entries = await readSegment(t.store, "s", "g");
      assert.deepEqual(entries.map(plainEntry), t.entries.map(plainEntry), "reads are repeatable");
      for (const entry of entries) {
        assert.equal(entry.space, "s");
        assert.equal(entry.segment, "g");
      }
    }),
  );

  define(
    ctx,
    "consumeSegment: minSequence is inclusive",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minSequence: 5 }), range(5, 12));
      assert.deepEqual(await t.read({ minSequence: 1 }), range(1, 12));
      assert.deepEqual(await t.read({ minSequence: 12 }), [12]);
    }),
  );

  define(
    ctx,
    "consumeSegment: maxSequence is inclusive",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ maxSequence: 7 }), range(1, 7));
      assert.deepEqual(await t.read({ maxSequence: 1 }), [1]);
      assert.deepEqual(await t.read({ maxSequence: 12 }), range(1, 12));
      assert.deepEqual(await t.read({ maxSequence: 1000 }), range(1, 12));
    }),
  );

  define(
    ctx,
    "consumeSegment: minSequence and maxSequence together",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minSequence: 4, maxSequence: 6 }), [4, 5, 6]);
      assert.deepEqual(await t.read({ minSequence: 5, maxSequence: 5 }), [5]);
      assert.deepEqual(await t.read({ minSequence: 2, maxSequence: 11 }), range(2, 11));
    }),
  );

  define(
    ctx,
    "consumeSegment: maxSequence below minSequence yields nothing",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minSequence: 6, maxSequence: 5 }), []);
      assert.deepEqual(await t.read({ minSequence: 12, maxSequence: 1 }), []);
    }),
  );

  define(
    ctx,
    "consumeSegment: minSequence beyond the last entry yields nothing",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minSequence: 13 }), []);
      assert.deepEqual(await t.read({ minSequence: 1_000_000 }), []);
    }),
  );

  define(
    ctx,
    "consumeSegment: zero bounds mean unbounded",
    withTimed(ctx, async (t) => {
      assert.deepEqual(
        await t.read({
          minSequence: 0,
          maxSequence: 0,
          minTimestamp: 0,
          maxTimestamp: 0,
          limit: 0,
        }),
        range(1, 12),
      );
      assert.deepEqual(await t.read({ minSequence: 3, maxSequence: 0 }), range(3, 12));
    }),
  );

  define(
    ctx,
    "consumeSegment: minTimestamp is exclusive",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minTimestamp: t.ts[2] }), range(7, 12));
      assert.deepEqual(await t.read({ minTimestamp: t.ts[2] - 1 }), range(4, 12));
      assert.deepEqual(await t.read({ minTimestamp: t.ts[1] - 1 }), range(1, 12));
    }),
  );

  define(
    ctx,
    "consumeSegment: maxTimestamp is inclusive",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ maxTimestamp: t.ts[2] }), range(1, 6));
      assert.deepEqual(await t.read({ maxTimestamp: t.ts[3] - 1 }), range(1, 6));
      assert.deepEqual(await t.read({ maxTimestamp: t.ts[1] }), range(1, 3));
      assert.deepEqual(await t.read({ maxTimestamp: t.ts[1] - 1 }), []);
    }),
  );

  define(
    ctx,
    "consumeSegment: minTimestamp and maxTimestamp together",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minTimestamp: t.ts[1], maxTimestamp: t.ts[3] }), range(4, 9));
      assert.deepEqual(await t.read({ minTimestamp: t.ts[2], maxTimestamp: t.ts[2] }), []);
      assert.deepEqual(await t.read({ minTimestamp: t.ts[3], maxTimestamp: t.ts[1] }), []);
    }),
  );

  define(
    ctx,
    "consumeSegment: maxTimestamp in the future yields everything",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ maxTimestamp: Date.now() + 3_600_000 }), range(1, 12));
      assert.deepEqual(await t.read({ maxTimestamp: t.ts[4] }), range(1, 12));
    }),
  );

  define(
    ctx,
    "consumeSegment: minTimestamp at the last timestamp yields nothing",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minTimestamp: t.ts[4] }), []);
      assert.deepEqual(await t.read({ minTimestamp: Date.now() + 3_600_000 }), []);
    }),
  );

  define(
    ctx,
    "consumeSegment: limit caps the count",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ limit: 5 }), range(1, 5));
      assert.deepEqual(await t.read({ limit: 1 }), [1]);
      assert.deepEqual(await t.read({ limit: 12 }), range(1, 12));
      assert.deepEqual(await t.read({ limit: 100 }), range(1, 12));
    }),
  );

  define(
    ctx,
    "consumeSegment: limit counts from the lower bounds",
    withTimed(ctx, async (t) => {
      assert.deepEqual(await t.read({ minSequence: 4, limit: 3 }), [4, 5, 6]);
      assert.deepEqual(await t.read({ minTimestamp: t.ts[2], limit: 2 }), [7, 8]);
      assert.deepEqual(await t.read({ minSequence: 11, limit: 5 }), [11, 12]);
    }),
  );

  define(
    ctx,
    "consumeSegment: every bound combined",
    withTimed(ctx, async (t) => {
      const all = { minSequence: 2, maxSequence: 11, minTimestamp: t.ts[1], maxTimestamp: t.ts[3] };
      assert.deepEqual(await t.read({ ...all, limit: 4 }), [4, 5, 6, 7]);
      assert.deepEqual(await t.read(all), range(4, 9));
      assert.deepEqual(await t.read({ ...all, minSequence: 8 }), [8, 9]);
      assert.deepEqual(await t.read({ ...all, maxSequence: 5, limit: 10 }), [4, 5]);
    }),
  );

  define(
    ctx,
    "consumeSegment: an unknown segment or space yields nothing",
    withTimed(ctx, async (t) => {
      assert.deepEqual(sequencesOf(await readSegment(t.store, "s", "unknown")), []);
      assert.deepEqual(sequencesOf(await readSegment(t.store, "unknown", "g")), []);
      assert.deepEqual(
        sequencesOf(await readSegment(t.store, "s", "unknown", { minSequence: 1, limit: 5 })),
        [],
      );
    }),
  );
}
