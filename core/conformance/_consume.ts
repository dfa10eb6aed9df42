// Conformance: consume, several spaces as one timeline: order and ties, offsets per space,
// bounds, limit, and ordering across calls under concurrent writers.

import assert from "node:assert/strict";
import { sleep } from "../_async.ts";
import { spaceEntryKey } from "../codec/keys.ts";
import { spaceOffset } from "../offsets.ts";
import type { ConsumeArgs, Entry, Store } from "../types.ts";
import { plainEntry, spaceLabelsOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { fromStart, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { assertConsumeOrder, compareConsumeOrder, compareSpaceOrder } from "./_order.ts";
import { produce, readSegment, readSpace, readSpaces } from "./_store_calls.ts";
import { HandClock, tickPast, TIMEOUT_MS } from "./_timing.ts";

/** Spaces whose JS string order differs from their UTF-8 byte order ("\uFF61" < "😀" in bytes). */
const SPACES = ["b", "a", "ab", "😀", "\uFF61"];
const SEGMENTS = ["h", "g"];

interface History {
  store: Store;
  /** Every entry of SPACES, from the segment indexes, in consume order. */
  all: Entry[];
  /** Every entry of each space, from the segment indexes, in space order. */
  bySpace: Map<string, Entry[]>;
}

/** The entries of `spaces`, read segment by segment (not through the space index). */
async function segmentEntries(store: Store, spaces: readonly string[]): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const space of spaces) {
    for await (const segment of store.getSegments(space)) {
      entries.push(...await readSegment(store, space, segment));
    }
  }
  return entries;
}

/** Three rounds of concurrent produces into two segments of each space, a millisecond apart. */
async function history(store: Store): Promise<History> {
  const next = new Map<string, number>();
  let latest = 0;
  for (let round = 0; round < 3; round++) {
    if (round > 0) await tickPast(latest);
    const statuses = await Promise.all(SPACES.flatMap((space, i) =>
      SEGMENTS.map((segment, j) => {
        const key = `${space}/${segment}`;
        const from = next.get(key) ?? 1;
        const count = 1 + (i + j + round) % 3;
        next.set(key, from + count);
        return produce(store, space, segment, records(from, count, key));
      })
    ));
    for (const status of statuses.flat()) latest = Math.max(latest, status.lastTimestamp);
  }
  // Noise in a space no case reads.
  await produce(store, "c", "g", records(1, 2));
  const entries = await segmentEntries(store, SPACES);
  const bySpace = new Map(
    SPACES.map((space) => [
      space,
      entries.filter((entry) => entry.space === space).sort(compareSpaceOrder),
    ]),
  );
  return { store, all: entries.sort(compareConsumeOrder), bySpace };
}

function withHistory(ctx: Ctx, fn: (h: History) => Promise<void>): () => Promise<void> {
  return () => withFreshStore(ctx, async (store) => await fn(await history(store)));
}

export function registerConsume(ctx: Ctx): void {
  define(
    ctx,
    "consume: one space reads exactly as consumeSpace",
    withHistory(ctx, async (h) => {
      for (const space of SPACES) {
        const viaConsume = await readSpaces(h.store, { spaces: { [space]: undefined } });
        assert.deepEqual(
          viaConsume.map(plainEntry),
          (await readSpace(h.store, space)).map(plainEntry),
          `space ${JSON.stringify(space)}`,
        );
        assert.deepEqual(spaceLabelsOf(viaConsume), spaceLabelsOf(h.bySpace.get(space)!));
      }
    }),
  );

  define(
    ctx,
    "consume: spaces merge by (timestamp, space UTF-8 bytes, segment UTF-8 bytes, sequence)",
    withHistory(ctx, async (h) => {
      const all = await readSpaces(h.store, { spaces: fromStart(SPACES) });
      assert.deepEqual(spaceLabelsOf(all), spaceLabelsOf(h.all), "every entry once, in order");
      assertConsumeOrder(all, "consume");
      assert.deepEqual(
        all.map(plainEntry),
        h.all.map(plainEntry),
        "the entries of the segment indexes",
      );
      const some = ["ab", "a", "\uFF61"];
      assert.deepEqual(
        spaceLabelsOf(await readSpaces(h.store, { spaces: fromStart(some) })),
        spaceLabelsOf(h.all.filter((entry) => some.includes(entry.space))),
        "a subset of the spaces",
      );
    }),
  );

  define(
    ctx,
    "consume: entries of one millisecond order by space bytes, then segment, then sequence",
    async () => {
      const clock = new HandClock();
      await withFreshStore(ctx, async (store) => {
        // Integer-like keys come first in a JS object ("9" before "10"), emoji before U+FF61
        // in JS string order, U+FEFF after both of them in UTF-8: none of that may show.
        const spaces = ["ab", "a", "😀", "\uFF61", "\uFEFF", "10", "9"];
        const segments = ["😀", "\uFF61", "b", "a"];
        const next = new Map<string, number>();
        const tieAcrossSpaces = (entries: readonly Entry[]) => {
          const spacesAt = new Map<number, Set<string>>();
          for (const { timestamp, space } of entries) {
            spacesAt.set(timestamp, (spacesAt.get(timestamp) ?? new Set()).add(space));
          }
          return [...spacesAt.values()].some((set) => set.size > 1);
        };
        let tied = false;
        // A factory that stamps with the hand clock ties at once; one that ignores it ties when
        // concurrent produces land in one millisecond.
        for (let round = 0; round < 40 && !tied; round++) {
          clock.advance();
          await Promise.all(spaces.flatMap((space) =>
            segments.map((segment) => {
              const key = `${space}/${segment}`;
              const from = next.get(key) ?? 1;
              next.set(key, from + 2);
              return produce(store, space, segment, records(from, 2, key));
            })
          ));
          tied = tieAcrossSpaces(await readSpaces(store, { spaces: fromStart(spaces) }));
        }
        assert.ok(tied, "fixture: entries of several spaces share a millisecond");
        const all = await readSpaces(store, { spaces: fromStart(spaces) });
        const expected = (await segmentEntries(store, spaces)).sort(compareConsumeOrder);
        assert.deepEqual(spaceLabelsOf(all), spaceLabelsOf(expected));
        assertConsumeOrder(all, "consume");
      }, { clock });
    },
  );

  define(
    ctx,
    "consume: prefix-named and odd spaces read only their own entries, in byte order",
    () =>
      withFreshStore(ctx, async (store) => {
        const spaces = [
          "a",
          "ab",
          "a b",
          "a\u0001",
          "\u0001",
          "\t",
          "\uFEFF",
          "\uFEFFa",
          "😀",
          "/ \\ # ? %",
          "__proto__",
          "constructor",
        ];
        for (const [i, space] of spaces.entries()) {
          await produce(store, space, "g", records(1, 1 + i % 2, space));
          await produce(store, space, space, records(1, 1, space));
        }
        const expected = (await segmentEntries(store, spaces)).sort(compareConsumeOrder);
        const all = await readSpaces(store, { spaces: fromStart(spaces) });
        assert.deepEqual(spaceLabelsOf(all), spaceLabelsOf(expected), "all the spaces");
        for (const space of spaces) {
          const own = await readSpaces(store, { spaces: { [space]: undefined } });
          assert.deepEqual(
            spaceLabelsOf(own),
            spaceLabelsOf(expected.filter((entry) => entry.space === space)),
            `only the entries of ${JSON.stringify(space)}`,
          );
        }
        const pair = await readSpaces(store, { spaces: { ab: undefined, a: undefined } });
        assert.deepEqual(
          spaceLabelsOf(pair),
          spaceLabelsOf(expected.filter((entry) => entry.space === "a" || entry.space === "ab")),
        );
      }),
  );

  define(
    ctx,
    "consume: resumes each space strictly after its own offset",
    withHistory(ctx, async (h) => {
      // A plan names, per space, the index of the entry to resume after (undefined: the start).
      const offsetOf = (space: string, index: number | undefined) =>
        index === undefined ? undefined : spaceOffset(h.bySpace.get(space)![index]);
      const after = (space: string, index: number | undefined) => {
        const entries = h.bySpace.get(space)!;
        return index === undefined ? entries : entries.slice(index + 1);
      };
      const plans: Array<Record<string, number | undefined>> = [
        { a: 0, b: 2, ab: undefined, "😀": 4, "\uFF61": 1 },
        { a: h.bySpace.get("a")!.length - 1, b: 0 },
        { ab: 3, "\uFF61": undefined },
      ];
      for (const plan of plans) {
        const spaces = Object.fromEntries(
          Object.entries(plan).map(([space, index]) => [space, offsetOf(space, index)]),
        );
        const expected = Object.entries(plan)
          .flatMap(([space, index]) => after(space, index))
          .sort(compareConsumeOrder);
        assert.deepEqual(
          spaceLabelsOf(await readSpaces(h.store, { spaces })),
          spaceLabelsOf(expected),
          `offsets ${JSON.stringify(plan)}`,
        );
      }
      // An offset where no entry is: before everything of "a", after everything of "b".
      const first = h.bySpace.get("a")![0];
      const spaces = {
        a: spaceEntryKey("a", first.timestamp - 1, "zzz", 1),
        b: spaceEntryKey("b", Date.now() + 3_600_000, "a", 1),
      };
      assert.deepEqual(
        spaceLabelsOf(await readSpaces(h.store, { spaces })),
        spaceLabelsOf(h.bySpace.get("a")!),
      );
    }),
  );

  define(
    ctx,
    "consume: minTimestamp exclusive and maxTimestamp inclusive across spaces",
    withHistory(ctx, async (h) => {
      const stamps = [...new Set(h.all.map((entry) => entry.timestamp))].sort((a, b) => a - b);
      assert.ok(stamps.length >= 3, "fixture: at least three timestamps");
      const [low, mid, high] = [stamps[0], stamps[Math.floor(stamps.length / 2)], stamps.at(-1)!];
      const spaces = fromStart(SPACES);
      const within = (min: number, max: number) =>
        spaceLabelsOf(h.all.filter((entry) => entry.timestamp > min && entry.timestamp <= max));
      const read = async (bounds: Partial<ConsumeArgs>) =>
        spaceLabelsOf(await readSpaces(h.store, { spaces, ...bounds }));
      assert.deepEqual(await read({ minTimestamp: mid }), within(mid, Infinity));
      assert.deepEqual(await read({ maxTimestamp: mid }), within(0, mid));
      assert.deepEqual(await read({ minTimestamp: low, maxTimestamp: mid }), within(low, mid));
      assert.deepEqual(await read({ minTimestamp: high }), []);
      assert.deepEqual(await read({ maxTimestamp: low - 1 }), []);
      assert.deepEqual(await read({ maxTimestamp: 0, minTimestamp: 0 }), spaceLabelsOf(h.all));
      assert.deepEqual(await read({ maxTimestamp: Date.now() + 3_600_000 }), spaceLabelsOf(h.all));
      // With offsets: both the offset and the bound hold back.
      const offset = spaceOffset(h.bySpace.get("a")![1]);
      assert.deepEqual(
        spaceLabelsOf(
          await readSpaces(h.store, { spaces: { a: offset, b: undefined }, maxTimestamp: mid }),
        ),
        spaceLabelsOf(
          [...h.bySpace.get("a")!.slice(2), ...h.bySpace.get("b")!]
            .filter((entry) => entry.timestamp <= mid)
            .sort(compareConsumeOrder),
        ),
      );
    }),
  );

  define(
    ctx,
    "consume: limit caps the merged count, and pages with offsets reassemble the timeline",
    withHistory(ctx, async (h) => {
      const spaces = fromStart(SPACES);
      for (const limit of [1, 2, 5, 13]) {
        assert.deepEqual(
          spaceLabelsOf(await readSpaces(h.store, { spaces, limit })),
          spaceLabelsOf(h.all.slice(0, limit)),
          `limit ${limit}`,
        );
      }
      assert.equal((await readSpaces(h.store, { spaces, limit: 10_000 })).length, h.all.length);
      assert.equal((await readSpaces(h.store, { spaces, limit: 0 })).length, h.all.length);
      for (const limit of [1, 4]) {
        const offsets: Record<string, Uint8Array | undefined> = { ...spaces };
        const pages: Entry[] = [];
        for (let page = 0; page <= h.all.length; page++) {
          const got = await readSpaces(h.store, { spaces: offsets, limit });
          assert.ok(got.length <= limit, "a page holds at most limit entries");
          if (got.length === 0) break;
          pages.push(...got);
          for (const entry of got) offsets[entry.space] = spaceOffset(entry);
        }
        assert.deepEqual(spaceLabelsOf(pages), spaceLabelsOf(h.all), `pages of ${limit}`);
      }
    }),
  );

  define(
    ctx,
    "consume: unknown spaces yield nothing, beside known ones too",
    withHistory(ctx, async (h) => {
      assert.deepEqual(
        await readSpaces(h.store, { spaces: fromStart(["unknown", "A", "a\u0001"]) }),
        [],
      );
      assert.deepEqual(
        spaceLabelsOf(await readSpaces(h.store, { spaces: fromStart(["unknown", "b"]) })),
        spaceLabelsOf(h.bySpace.get("b")!),
      );
    }),
  );

  define(
    ctx,
    "consume: resuming from the last entries seen never goes back, under concurrent writers",
    () =>
      withFreshStore(ctx, async (store) => {
        // Prefix-named and odd spaces; ties between them are likely.
        const spaces = ["ab", "a", "\uFEFF", "😀"];
        const segments = ["w1", "w2", "w3"];
        const maxBatch = Math.max(1, Math.min(8, store.limits.maxChunkRecords));
        let writersDone = false;
        let writerError: unknown;
        const writers = Promise.all(spaces.flatMap((space) =>
          segments.map(async (segment) => {
            let next = 1;
            for (let round = 0; round < 5; round++) {
              const count = 1 + Math.floor(Math.random() * maxBatch);
              await produce(store, space, segment, records(next, count, segment));
              next += count;
              await sleep(Math.floor(Math.random() * 3));
            }
          })
        )).catch((error) => {
          writerError = error;
        }).finally(() => {
          writersDone = true;
        });

        const seen: Entry[] = [];
        try {
          const offsets: Record<string, Uint8Array | undefined> = fromStart(spaces);
          const deadline = Date.now() + 2 * TIMEOUT_MS;
          for (let calls = 0;; calls++) {
            const doneBefore = writersDone;
            // Small pages: many calls, each with one bound for all the spaces.
            const got = await readSpaces(store, { spaces: offsets, limit: 1 + calls % 7 });
            for (const entry of got) {
              const last = seen.at(-1);
              assert.ok(
                last === undefined || compareConsumeOrder(last, entry) < 0,
                `call ${calls}: ${spaceLabelsOf([entry])} sorts before ${
                  last && spaceLabelsOf([last])
                }, already received`,
              );
              seen.push(entry);
              offsets[entry.space] = spaceOffset(entry);
            }
            if (doneBefore && got.length === 0) break;
            assert.ok(calls < 100_000 && Date.now() < deadline, "the reader must finish");
            if (got.length === 0) await sleep(1);
          }
        } finally {
          await writers;
        }
        if (writerError !== undefined) throw writerError;
        const expected = (await segmentEntries(store, spaces)).sort(compareConsumeOrder);
        assert.equal(new Set(spaceLabelsOf(seen)).size, seen.length, "no entry twice");
        assert.deepEqual(spaceLabelsOf(seen), spaceLabelsOf(expected), "every entry, in order");
      }),
  );
}
