// Conformance: consumeSpace order, offsets and resume, limit and timestamp bounds.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { spaceEntryKey } from "../codec/keys.ts";
import { compareKeys } from "../codec/lexkey.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry, Store } from "../types.ts";
import { labelsOf, plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { records, utf8 } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { byteSort, compareSpaceOrder } from "./_order.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";
import { tickPast } from "./_timing.ts";

const SEGMENTS = ["alpha", "beta", "\uFF61", "😀", "é", "A", "z", "a b", "seg", "seg2"];

interface Timeline {
  store: Store;
  /** The full consumeSpace result. */
  all: Entry[];
  /** The entries of every segment, by consumeSegment. */
  bySegment: Map<string, Entry[]>;
}

/** Ten segments written in three rounds of concurrent produces (ties in timestamps likely). */
async function timeline(store: Store): Promise<Timeline> {
  const next = new Map(SEGMENTS.map((segment) => [segment, 1]));
  let latest = 0;
  for (let round = 0; round < 3; round++) {
    if (round > 0) await tickPast(latest);
    const statuses = await Promise.all(SEGMENTS.map((segment, i) => {
      const count = 1 + (i + round) % 3;
      const from = next.get(segment)!;
      next.set(segment, from + count);
      return produce(store, "s", segment, records(from, count, segment));
    }));
    for (const status of statuses.flat()) latest = Math.max(latest, status.lastTimestamp);
  }
  // Noise in other spaces, one of them a prefix extension.
  await produce(store, "s2", "alpha", records(1, 2));
  await produce(store, "t", "alpha", records(1, 2));
  const bySegment = new Map<string, Entry[]>();
  for (const segment of SEGMENTS) bySegment.set(segment, await readSegment(store, "s", segment));
  return { store, all: await readSpace(store, "s"), bySegment };
}

function withTimeline(
  ctx: Ctx,
  fn: (t: Timeline) => void | Promise<void>,
): () => Promise<void> {
  return () => withFreshStore(ctx, async (store) => await fn(await timeline(store)));
}

function distinctTimestamps(entries: readonly Entry[]): number[] {
  return [...new Set(entries.map((entry) => entry.timestamp))].sort((a, b) => a - b);
}

export function registerConsumeSpace(ctx: Ctx): void {
  define(
    ctx,
    "consumeSpace: every entry once, ordered by (timestamp, segment bytes, sequence)",
    withTimeline(ctx, (t) => {
      const expected = [...t.bySegment.values()].flat();
      assert.equal(t.all.length, expected.length, "every entry of every segment, once");
      assert.equal(new Set(labelsOf(t.all)).size, t.all.length, "no entry twice");
      const sorted = [...expected].sort(compareSpaceOrder);
      assert.deepEqual(
        labelsOf(t.all),
        labelsOf(sorted),
        "order by (timestamp, segment UTF-8, sequence)",
      );
      const byOffset = [...expected].sort((a, b) => compareKeys(spaceOffset(a), spaceOffset(b)));
      assert.deepEqual(labelsOf(t.all), labelsOf(byOffset), "order of spaceOffset bytes");
      for (let i = 1; i < t.all.length; i++) {
        assert.ok(
          compareKeys(spaceOffset(t.all[i - 1]), spaceOffset(t.all[i])) < 0,
          `offsets ascend at ${i}`,
        );
      }
      for (const entry of t.all) assert.equal(entry.space, "s");
    }),
  );

  define(
    ctx,
    "consumeSpace: entries equal those of consumeSegment (both indexes agree)",
    withTimeline(ctx, (t) => {
      const bySegment = new Map(
        [...t.bySegment.values()].flat().map((
          entry,
        ) => [`${entry.segment}#${entry.sequence}`, plainEntry(entry)]),
      );
      for (const entry of t.all) {
        assert.deepEqual(plainEntry(entry), bySegment.get(`${entry.segment}#${entry.sequence}`));
      }
    }),
  );

  define(
    ctx,
    "consumeSpace: segments ordered by UTF-8 bytes, not UTF-16 (\\uFF61 before 😀)",
    () =>
      withFreshStore(ctx, async (store) => {
        const [low, high] = ["\uFF61", "😀"]; // UTF-8 EF BD A1 < F0 9F 98 80; UTF-16 FF61 > D83D
        assert.ok(low > high, "fixture: JS string order puts the emoji first");
        assert.ok(compareKeys(utf8(low), utf8(high)) < 0, "fixture: UTF-8 puts U+FF61 first");
        let next = 1;
        let tied = false;
        for (let round = 0; round < 30 && !tied; round++) {
          await Promise.all([
            produce(store, "s", high, records(next, 2, high)),
            produce(store, "s", low, records(next, 2, low)),
          ]);
          next += 2;
          const all = await readSpace(store, "s");
          const lows = new Set(all.filter((e) => e.segment === low).map((e) => e.timestamp));
          tied = all.some((e) => e.segment === high && lows.has(e.timestamp));
        }
        const all = await readSpace(store, "s");
        assert.equal(all.length, (next - 1) * 2);
        assert.deepEqual(labelsOf(all), labelsOf([...all].sort(compareSpaceOrder)));
        for (let i = 1; i < all.length; i++) {
          if (all[i].timestamp === all[i - 1].timestamp && all[i].segment !== all[i - 1].segment) {
            assert.equal(all[i - 1].segment, low, "on a timestamp tie U+FF61 comes first");
          }
        }
        assert.deepEqual(await collect(store.getSegments("s")), [low, high]);
      }),
  );

  define(
    ctx,
    "consumeSpace: resuming from an entry's offset yields exactly the rest",
    withTimeline(ctx, async (t) => {
      const step = Math.max(1, Math.floor(t.all.length / 25));
      for (let i = 0; i < t.all.length; i += step) {
        const rest = await readSpace(t.store, "s", { offset: spaceOffset(t.all[i]) });
        assert.deepEqual(labelsOf(rest), labelsOf(t.all.slice(i + 1)), `resume after entry ${i}`);
      }
      const afterLast = await readSpace(t.store, "s", { offset: spaceOffset(t.all.at(-1)!) });
      assert.deepEqual(afterLast, [], "nothing after the last entry");
    }),
  );

  define(
    ctx,
    "consumeSpace: an offset of a position that holds no entry resumes after it",
    withTimeline(ctx, async (t) => {
      const first = t.all[0];
      const before = spaceEntryKey("s", first.timestamp - 1, "zzz", 99);
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset: before })),
        labelsOf(t.all),
      );
      const ancient = spaceEntryKey("s", 1, "a", 1);
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset: ancient })),
        labelsOf(t.all),
      );
      const future = spaceEntryKey("s", Date.now() + 3_600_000, "a", 1);
      assert.deepEqual(await readSpace(t.store, "s", { offset: future }), []);
      // Between two entries of one segment at one timestamp: after sequence n, before n + 1.
      const index = t.all.findIndex((entry, i) =>
        i + 1 < t.all.length && t.all[i + 1].segment === entry.segment &&
        t.all[i + 1].timestamp === entry.timestamp
      );
      assert.ok(index >= 0, "fixture: a chunk of two or more entries");
      const e = t.all[index];
      const between = spaceEntryKey("s", e.timestamp, e.segment + "\u0001", 1);
      const expected = t.all.filter((x) =>
        x.timestamp > e.timestamp ||
        (x.timestamp === e.timestamp &&
          compareKeys(utf8(x.segment), utf8(e.segment + "\u0001")) > 0)
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset: between })),
        labelsOf(expected),
      );
    }),
  );

  define(
    ctx,
    "consumeSpace: limit caps the count and pages with offsets",
    withTimeline(ctx, async (t) => {
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { limit: 1 })),
        labelsOf(t.all.slice(0, 1)),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { limit: 5 })),
        labelsOf(t.all.slice(0, 5)),
      );
      assert.equal((await readSpace(t.store, "s", { limit: 10_000 })).length, t.all.length);
      const pages: Entry[] = [];
      let offset: Uint8Array | undefined;
      for (let page = 0; page < 100; page++) {
        const got = await readSpace(t.store, "s", { offset, limit: 7 });
        assert.ok(got.length <= 7, "a page holds at most limit entries");
        if (got.length === 0) break;
        pages.push(...got);
        offset = spaceOffset(got.at(-1)!);
      }
      assert.deepEqual(labelsOf(pages), labelsOf(t.all), "pages reassemble the timeline");
    }),
  );

  define(
    ctx,
    "consumeSpace: minTimestamp exclusive, maxTimestamp inclusive",
    withTimeline(ctx, async (t) => {
      const stamps = distinctTimestamps(t.all);
      assert.ok(stamps.length >= 3, "fixture: at least three timestamps");
      const mid = stamps[Math.floor(stamps.length / 2)];
      const low = stamps[0];
      const high = stamps.at(-1)!;
      const filter = (min: number, max: number) =>
        labelsOf(t.all.filter((e) => e.timestamp > min && e.timestamp <= max));
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { minTimestamp: mid })),
        filter(mid, Infinity),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { maxTimestamp: mid })),
        filter(0, mid),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { minTimestamp: low, maxTimestamp: mid })),
        filter(low, mid),
      );
      assert.deepEqual(await readSpace(t.store, "s", { minTimestamp: high }), []);
      assert.deepEqual(await readSpace(t.store, "s", { maxTimestamp: low - 1 }), []);
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { minTimestamp: low - 1 })),
        labelsOf(t.all),
      );
    }),
  );

  define(
    ctx,
    "consumeSpace: maxTimestamp zero or in the future yields everything",
    withTimeline(ctx, async (t) => {
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { maxTimestamp: 0 })),
        labelsOf(t.all),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { maxTimestamp: Date.now() + 3_600_000 })),
        labelsOf(t.all),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { minTimestamp: 0, limit: 0 })),
        labelsOf(t.all),
      );
    }),
  );

  define(
    ctx,
    "consumeSpace: offset, timestamp bounds and limit combined",
    withTimeline(ctx, async (t) => {
      const stamps = distinctTimestamps(t.all);
      const max = stamps[stamps.length - 2];
      const from = 3;
      const tail = t.all.slice(from + 1).filter((e) => e.timestamp <= max);
      const offset = spaceOffset(t.all[from]);
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset, maxTimestamp: max })),
        labelsOf(tail),
      );
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset, maxTimestamp: max, limit: 4 })),
        labelsOf(tail.slice(0, 4)),
      );
      const min = stamps[1];
      const both = t.all.slice(from + 1).filter((e) => e.timestamp > min && e.timestamp <= max);
      assert.deepEqual(
        labelsOf(await readSpace(t.store, "s", { offset, minTimestamp: min, maxTimestamp: max })),
        labelsOf(both),
      );
    }),
  );

  define(
    ctx,
    "consumeSpace: a chunk is visible in both indexes as soon as its produce resolved",
    () =>
      withFreshStore(ctx, async (store) => {
        let offset: Uint8Array | undefined;
        const missed: number[] = [];
        for (let sequence = 1; sequence <= 50; sequence++) {
          // Read right before writing, as a tailing reader does.
          for await (const entry of store.consumeSpace({ space: "s", offset })) {
            offset = spaceOffset(entry);
          }
          await produce(store, "s", "g", records(sequence, 1));
          const [last] = await readSegment(store, "s", "g", { minSequence: sequence });
          assert.equal(last?.sequence, sequence, "consumeSegment sees the committed chunk");
          assert.equal((await store.peek("s", "g"))?.sequence, sequence, "peek sees it");
          const got = await readSpace(store, "s", { offset });
          if (got.some((entry) => entry.sequence === sequence)) offset = spaceOffset(got.at(-1)!);
          else missed.push(sequence);
        }
        assert.deepEqual(
          missed,
          [],
          "consumeSpace right after the produce resolved must include the acknowledged entry " +
            "(consumeSegment and peek already show it)",
        );
      }),
  );

  define(
    ctx,
    "consumeSpace: an unknown space yields nothing",
    withTimeline(ctx, async (t) => {
      assert.deepEqual(await readSpace(t.store, "unknown"), []);
      assert.deepEqual(await readSpace(t.store, "s\u0001"), []);
      assert.deepEqual(await readSpace(t.store, "S"), []);
    }),
  );

  define(
    ctx,
    "consumeSpace: spaceOffset of a read entry is what resuming uses",
    () =>
      withFreshStore(ctx, async (store) => {
        const names = byteSort(["b", "a", "😀"]);
        for (const segment of names) await produce(store, "s", segment, records(1, 2, segment));
        const all = await readSpace(store, "s");
        assert.equal(all.length, 6);
        // Resuming from a copy of the bytes works the same (offsets are plain data).
        for (const [i, entry] of all.entries()) {
          const copy = Uint8Array.from(spaceOffset(entry));
          assert.deepEqual(
            labelsOf(await readSpace(store, "s", { offset: copy })),
            labelsOf(all.slice(i + 1)),
          );
        }
      }),
  );
}
