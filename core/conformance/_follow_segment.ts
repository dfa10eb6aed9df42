// Conformance: followSegment, one segment live: history then new chunks in sequence order,
// exactly once, afterSequence, caught-up placement, names, a slow consumer, arguments, and
// (supports.multiInstance) commits of another instance.

import assert from "node:assert/strict";
import { sleep } from "../_async.ts";
import type { FollowSegmentArgs, Store } from "../types.ts";
import { expectFirstNextError } from "./_assertions.ts";
import { plainEntry, sequencesOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { range, records } from "./_fixtures.ts";
import { assertNoCaughtUpTwice, followSegmentReader, readBacklogSlowly } from "./_follow_reader.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";
import { isRaceLoss } from "./_race.ts";
import { produce, readSegment } from "./_store_calls.ts";
import { startWriters } from "./_writers.ts";

/**
 * Appends chunks of the planned sizes to one segment, racing other writers: each chunk continues
 * the head it read, and is tried again on a SequenceMismatch (or a transient Conflict).
 */
async function appendRacing(
  store: Store,
  space: string,
  segment: string,
  writer: string,
  sizes: readonly number[],
): Promise<void> {
  let attempts = 0;
  for (const [chunk, size] of sizes.entries()) {
    while (true) {
      assert.ok(++attempts < 10_000, `${writer}: too many lost races`);
      const from = ((await store.getSegmentStatus(space, segment))?.lastSequence ?? 0) + 1;
      try {
        await produce(store, space, segment, records(from, size, `${writer}.${chunk}`));
        break;
      } catch (error) {
        if (!isRaceLoss(error)) throw error;
        await sleep(Math.floor(Math.random() * 3));
      }
    }
  }
}

export function registerFollowSegment(ctx: Ctx): void {
  define(
    ctx,
    "followSegment: with no history, caught-up comes first; each live chunk, then caught-up",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followSegmentReader(store, { space: "s", segment: "g" });
        await reader.caughtUp("caught-up at once, with no history");
        await produce(store, "s", "g", records(1, 3));
        assert.deepEqual(sequencesOf(await reader.nextEntries(3, "the first live chunk")), [
          1,
          2,
          3,
        ]);
        await reader.caughtUp("caught-up after the first live chunk");
        await produce(store, "s", "g", records(4, 2));
        const second = await reader.nextEntries(2, "the second live chunk");
        assert.deepEqual(
          second.map(plainEntry),
          (await readSegment(store, "s", "g")).slice(3).map(plainEntry),
        );
        await reader.caughtUp("caught-up after the second live chunk");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: a history of N entries across chunks, then caught-up, then live entries",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 4));
        await produce(store, "s", "h", records(1, 3)); // another segment
        await produce(store, "s", "g", records(5, 5));
        await produce(store, "t", "g", records(1, 2)); // the same segment name in another space
        await produce(store, "s", "g", records(10, 3));
        const reader = followSegmentReader(store, { space: "s", segment: "g" });
        const history = await reader.nextEntries(12, "the history");
        assert.deepEqual(
          history.map(plainEntry),
          (await readSegment(store, "s", "g")).map(plainEntry),
        );
        await reader.caughtUp("caught-up right after the history");
        await produce(store, "s", "g", records(13, 3));
        assert.deepEqual(sequencesOf(await reader.nextEntries(3, "the live chunk")), [13, 14, 15]);
        await reader.caughtUp("caught-up after the live chunk");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: afterSequence in the middle resumes strictly after it",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 6));
        await produce(store, "s", "g", records(7, 4));
        for (const afterSequence of [1, 4, 6, 7, 9]) {
          const reader = followSegmentReader(store, { space: "s", segment: "g", afterSequence });
          const rest = await reader.nextEntries(10 - afterSequence, `after ${afterSequence}`);
          assert.deepEqual(
            sequencesOf(rest),
            range(afterSequence + 1, 10),
            `after ${afterSequence}`,
          );
          await reader.caughtUp(`caught-up after the rest (after ${afterSequence})`);
          await reader.stop();
        }
        const fromFirst = followSegmentReader(store, {
          space: "s",
          segment: "g",
          afterSequence: 0,
        });
        assert.deepEqual(
          sequencesOf(await fromFirst.nextEntries(10, "afterSequence 0")),
          range(1, 10),
        );
        await fromFirst.caughtUp("caught-up after everything");
        await fromFirst.stop();
      }),
  );

  define(
    ctx,
    "followSegment: afterSequence at or past the end waits for later sequences",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 10));
        const atEnd = followSegmentReader(store, { space: "s", segment: "g", afterSequence: 10 });
        const pastEnd = followSegmentReader(store, { space: "s", segment: "g", afterSequence: 13 });
        await atEnd.caughtUp("at the end: caught-up at once");
        await pastEnd.caughtUp("past the end: caught-up at once");
        await produce(store, "s", "g", records(11, 2));
        assert.deepEqual(sequencesOf(await atEnd.nextEntries(2, "at the end: the next chunk")), [
          11,
          12,
        ]);
        await atEnd.caughtUp("at the end: caught-up after the chunk");
        await produce(store, "s", "g", records(13, 3));
        assert.deepEqual(sequencesOf(await atEnd.nextEntries(3, "at the end: the chunk after")), [
          13,
          14,
          15,
        ]);
        assert.deepEqual(
          sequencesOf(await pastEnd.nextEntries(2, "past the end: only what follows 13")),
          [14, 15],
        );
        await pastEnd.caughtUp("past the end: caught-up after its entries");
        assertNoCaughtUpTwice(atEnd.events);
        await atEnd.stop();
        await pastEnd.stop();
      }),
  );

  define(
    ctx,
    "followSegment: every entry exactly once and in order, under writers racing on the segment",
    () =>
      withFreshStore(ctx, async (store) => {
        const maxBatch = Math.max(1, Math.min(6, store.limits.maxChunkRecords));
        const plans = range(1, 3).map(() =>
          range(1, 6).map(() => 1 + Math.floor(Math.random() * maxBatch))
        );
        const total = plans.flat().reduce((a, b) => a + b, 0);
        await produce(store, "s", "g", records(1, 2, "history"));
        const reader = followSegmentReader(store, { space: "s", segment: "g" });
        const noise = startWriters(store, ["s"], ["g2", "h"], 4, 6);
        const [seen] = await Promise.all([
          reader.collect(2 + total, "every entry"),
          ...plans.map((sizes, i) => appendRacing(store, "s", "g", `writer${i}`, sizes)),
          noise.done,
        ]);
        await reader.caughtUp("caught-up once everything was delivered");
        const expected = await readSegment(store, "s", "g");
        assert.deepEqual(
          sequencesOf(expected),
          range(1, 2 + total),
          "fixture: every write committed",
        );
        assert.deepEqual(sequencesOf(seen), range(1, 2 + total), "every sequence once, in order");
        assert.deepEqual(seen.map(plainEntry), expected.map(plainEntry), "the stored entries");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: started before its segment exists; prefix-named neighbours stay apart",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followSegmentReader(store, {
          space: "s",
          segment: "seg",
          pollIntervalMs: 50,
        });
        await reader.caughtUp("caught-up at once for a segment that does not exist");
        await produce(store, "s", "seg2", records(1, 2));
        await produce(store, "s", "se", records(1, 2));
        await produce(store, "s", "seg\u0001", records(1, 2));
        await produce(store, "s2", "seg", records(1, 2));
        await produce(store, "ss", "eg", records(1, 2));
        await produce(store, "s", "seg", records(1, 2));
        const entries = await reader.nextEntries(2, "the first chunk of the segment");
        assert.deepEqual(
          entries.map((entry) => [entry.space, entry.segment, entry.sequence]),
          [["s", "seg", 1], ["s", "seg", 2]],
        );
        await reader.caughtUp("caught-up after the first chunk");
        await produce(store, "s", "seg2", records(3, 1));
        await produce(store, "s", "seg", records(3, 1));
        assert.deepEqual(sequencesOf(await reader.nextEntries(1, "the second chunk")), [3]);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: odd names (emoji, control characters, U+FEFF, / \\ # ? %)",
    () =>
      withFreshStore(ctx, async (store) => {
        const names: Array<[string, string]> = [
          ["😀", "\uFEFF"],
          ["\uFEFF", "😀"],
          ["\u0001\t\n", "a\u007F"],
          ["/ \\ # ? %", "..%2F"],
          ["s", "\uFEFFg"],
          ["s", "g"],
        ];
        for (const [space, segment] of names) {
          await produce(store, space, segment, records(1, 2, `${space}/${segment}`));
        }
        for (const [space, segment] of names) {
          const what = `${JSON.stringify(space)}/${JSON.stringify(segment)}`;
          const reader = followSegmentReader(store, { space, segment });
          const history = await reader.nextEntries(2, `${what}: the history`);
          assert.deepEqual(
            history.map(plainEntry),
            (await readSegment(store, space, segment)).map(plainEntry),
          );
          await reader.caughtUp(`${what}: caught-up`);
          await produce(store, space, segment, records(3, 1, `${space}/${segment}`));
          const [live] = await reader.nextEntries(1, `${what}: the live entry`);
          assert.deepEqual([live.space, live.segment, live.sequence], [space, segment, 3]);
          await reader.stop();
        }
      }),
  );

  define(
    ctx,
    "followSegment: a slow consumer gets a big backlog written meanwhile, in order",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followSegmentReader(store, { space: "s", segment: "g" });
        await reader.caughtUp("caught-up at once");
        const writers = startWriters(store, ["s"], ["g"], 20, 20);
        const seen = await readBacklogSlowly(reader, writers);
        assert.deepEqual(
          sequencesOf(seen),
          range(1, writers.total),
          "every sequence once, in order",
        );
        assert.deepEqual(
          seen.map(plainEntry),
          (await readSegment(store, "s", "g")).map(plainEntry),
        );
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "invalid argument: followSegment names, afterSequence and pollIntervalMs",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 1));
        for (const name of ["", "a\u0000b", "\uD800", "a".repeat(201), 42, undefined]) {
          await expectFirstNextError(
            () => store.followSegment({ space: name as string, segment: "g" }),
            "InvalidArgument",
            "space",
          );
          await expectFirstNextError(
            () => store.followSegment({ space: "s", segment: name as string }),
            "InvalidArgument",
            "segment",
          );
        }
        for (const afterSequence of [-1, 1.5, NaN, Infinity, "3", 2 ** 53]) {
          await expectFirstNextError(
            () =>
              store.followSegment({
                space: "s",
                segment: "g",
                afterSequence: afterSequence as number,
              }),
            "InvalidArgument",
            "afterSequence",
          );
        }
        for (const pollIntervalMs of [0, -1, 1.5, NaN, Infinity, "100", 2 ** 53]) {
          await expectFirstNextError(
            () =>
              store.followSegment({
                space: "s",
                segment: "g",
                pollIntervalMs: pollIntervalMs as number,
              }),
            "InvalidArgument",
            "pollIntervalMs",
          );
        }
        await expectFirstNextError(
          () => store.followSegment(undefined as unknown as FollowSegmentArgs),
          "InvalidArgument",
          "space",
        );
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "multi-instance: followSegment sees what another instance commits, exactly once and in order",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await produce(b, "s", "g", records(1, 3));
          const reader = followSegmentReader(a, { space: "s", segment: "g", pollIntervalMs: 50 });
          assert.deepEqual(sequencesOf(await reader.nextEntries(3, "the history")), [1, 2, 3]);
          await reader.caughtUp("caught-up after the history");
          const sizes = range(1, 6).map((i) => 1 + i % 4);
          const total = sizes.reduce((x, y) => x + y, 0);
          const [live] = await Promise.all([
            reader.collect(total, "the other instance's live entries"),
            (async () => {
              let next = 4;
              for (const size of sizes) {
                await produce(b, "s", "g", records(next, size));
                next += size;
              }
            })(),
          ]);
          await reader.caughtUp("caught-up after the live entries");
          assert.deepEqual(sequencesOf(live), range(4, 3 + total), "every sequence once, in order");
          assert.deepEqual(
            live.map(plainEntry),
            (await readSegment(b, "s", "g", { minSequence: 4 })).map(plainEntry),
            "the entries as stored",
          );
          assertNoCaughtUpTwice(reader.events);
          await reader.stop();
        }),
    );
  }
}
