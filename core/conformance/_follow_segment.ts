// Conformance: followSegment, one segment live: history then new chunks in sequence order,
// exactly once, afterSequence, caught-up placement, names, a slow consumer, abort, close, break,
// arguments, and (supports.multiInstance) commits of another instance.

import assert from "node:assert/strict";
import { StreamkitError } from "../errors.ts";
import type { Entry, FollowSegmentArgs, Store } from "../types.ts";
import { withTwoInstances } from "./_persistence.ts";
import {
  assertNoCaughtUpTwice,
  ConformanceAbortReason,
  type Ctx,
  define,
  expectError,
  expectFirstNextError,
  expectReason,
  FollowReader,
  plain,
  produce,
  range,
  readSegment,
  records,
  seqs,
  sleep,
  startWriters,
  withFactory,
  withStore,
  withTimeout,
} from "./_helpers.ts";

function followSegment(store: Store, args: FollowSegmentArgs): FollowReader {
  return new FollowReader(store.followSegment(args));
}

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
        const lost = error instanceof StreamkitError &&
          (error.kind === "SequenceMismatch" || (error.kind === "Conflict" && error.transient));
        if (!lost) throw error;
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
      withStore(ctx, async (store) => {
        const reader = followSegment(store, { space: "s", segment: "g" });
        await reader.caughtUp("caught-up at once, with no history");
        await produce(store, "s", "g", records(1, 3));
        assert.deepEqual(seqs(await reader.nextEntries(3, "the first live chunk")), [1, 2, 3]);
        await reader.caughtUp("caught-up after the first live chunk");
        await produce(store, "s", "g", records(4, 2));
        const second = await reader.nextEntries(2, "the second live chunk");
        assert.deepEqual(
          second.map(plain),
          (await readSegment(store, "s", "g")).slice(3).map(plain),
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
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 4));
        await produce(store, "s", "h", records(1, 3)); // another segment
        await produce(store, "s", "g", records(5, 5));
        await produce(store, "t", "g", records(1, 2)); // the same segment name in another space
        await produce(store, "s", "g", records(10, 3));
        const reader = followSegment(store, { space: "s", segment: "g" });
        const history = await reader.nextEntries(12, "the history");
        assert.deepEqual(history.map(plain), (await readSegment(store, "s", "g")).map(plain));
        await reader.caughtUp("caught-up right after the history");
        await produce(store, "s", "g", records(13, 3));
        assert.deepEqual(seqs(await reader.nextEntries(3, "the live chunk")), [13, 14, 15]);
        await reader.caughtUp("caught-up after the live chunk");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: afterSequence in the middle resumes strictly after it",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 6));
        await produce(store, "s", "g", records(7, 4));
        for (const afterSequence of [1, 4, 6, 7, 9]) {
          const reader = followSegment(store, { space: "s", segment: "g", afterSequence });
          const rest = await reader.nextEntries(10 - afterSequence, `after ${afterSequence}`);
          assert.deepEqual(seqs(rest), range(afterSequence + 1, 10), `after ${afterSequence}`);
          await reader.caughtUp(`caught-up after the rest (after ${afterSequence})`);
          await reader.stop();
        }
        const fromFirst = followSegment(store, { space: "s", segment: "g", afterSequence: 0 });
        assert.deepEqual(seqs(await fromFirst.nextEntries(10, "afterSequence 0")), range(1, 10));
        await fromFirst.caughtUp("caught-up after everything");
        await fromFirst.stop();
      }),
  );

  define(
    ctx,
    "followSegment: afterSequence at or past the end waits for later sequences",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 10));
        const atEnd = followSegment(store, { space: "s", segment: "g", afterSequence: 10 });
        const pastEnd = followSegment(store, { space: "s", segment: "g", afterSequence: 13 });
        await atEnd.caughtUp("at the end: caught-up at once");
        await pastEnd.caughtUp("past the end: caught-up at once");
        await produce(store, "s", "g", records(11, 2));
        assert.deepEqual(seqs(await atEnd.nextEntries(2, "at the end: the next chunk")), [11, 12]);
        await atEnd.caughtUp("at the end: caught-up after the chunk");
        await produce(store, "s", "g", records(13, 3));
        assert.deepEqual(seqs(await atEnd.nextEntries(3, "at the end: the chunk after")), [
          13,
          14,
          15,
        ]);
        assert.deepEqual(
          seqs(await pastEnd.nextEntries(2, "past the end: only what follows 13")),
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
      withStore(ctx, async (store) => {
        const maxBatch = Math.max(1, Math.min(6, store.limits.maxChunkRecords));
        const plans = range(1, 3).map(() =>
          range(1, 6).map(() => 1 + Math.floor(Math.random() * maxBatch))
        );
        const total = plans.flat().reduce((a, b) => a + b, 0);
        await produce(store, "s", "g", records(1, 2, "history"));
        const reader = followSegment(store, { space: "s", segment: "g" });
        const noise = startWriters(store, ["s"], ["g2", "h"], 4, 6);
        const [seen] = await Promise.all([
          reader.collect(2 + total, "every entry"),
          ...plans.map((sizes, i) => appendRacing(store, "s", "g", `writer${i}`, sizes)),
          noise.done,
        ]);
        await reader.caughtUp("caught-up once everything was delivered");
        const expected = await readSegment(store, "s", "g");
        assert.deepEqual(seqs(expected), range(1, 2 + total), "fixture: every write committed");
        assert.deepEqual(seqs(seen), range(1, 2 + total), "every sequence once, in order");
        assert.deepEqual(seen.map(plain), expected.map(plain), "the stored entries");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: started before its segment exists; prefix-named neighbours stay apart",
    () =>
      withStore(ctx, async (store) => {
        const reader = followSegment(store, { space: "s", segment: "seg", pollIntervalMs: 50 });
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
        assert.deepEqual(seqs(await reader.nextEntries(1, "the second chunk")), [3]);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "followSegment: odd names (emoji, control characters, U+FEFF, / \\ # ? %)",
    () =>
      withStore(ctx, async (store) => {
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
          const reader = followSegment(store, { space, segment });
          const history = await reader.nextEntries(2, `${what}: the history`);
          assert.deepEqual(
            history.map(plain),
            (await readSegment(store, space, segment)).map(plain),
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
      withStore(ctx, async (store) => {
        const reader = followSegment(store, { space: "s", segment: "g" });
        await reader.caughtUp("caught-up at once");
        const writers = startWriters(store, ["s"], ["g"], 20, 20);
        let delivered = 0;
        const [seen] = await Promise.all([
          reader.collect(writers.total, "the backlog", async () => {
            if (++delivered % 10 === 0) await sleep(2);
          }),
          writers.done,
        ]);
        await reader.caughtUp("caught-up after the backlog");
        assert.deepEqual(seqs(seen), range(1, writers.total), "every sequence once, in order");
        assert.deepEqual(seen.map(plain), (await readSegment(store, "s", "g")).map(plain));
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "abort: followSegment waiting for a commit ends with the signal's reason",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const signal = controller.signal;
        const reader = followSegment(store, { space: "s", segment: "g", signal });
        await reader.nextEntries(2, "the history");
        await reader.caughtUp("caught-up after the history");
        // Awaited together, so the follow's end is handled whenever it comes.
        await Promise.all([
          expectReason(
            () => reader.next("the follow to end after the abort"),
            reason,
            "followSegment waiting for a commit",
          ),
          sleep(5).then(() => controller.abort(reason)),
        ]);
        await produce(store, "s", "g", records(3, 1));
        const again = followSegment(store, { space: "s", segment: "g" });
        assert.deepEqual(seqs(await again.nextEntries(3, "a new follower's history")), [1, 2, 3]);
        await again.stop();
      }),
  );

  define(
    ctx,
    "abort: followSegment aborted while reading history, or before, ends with the reason",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 30));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const signal = controller.signal;
        let seen = 0;
        await expectReason(
          () =>
            withTimeout(
              (async () => {
                for await (
                  const event of store.followSegment({ space: "s", segment: "g", signal })
                ) {
                  assert.equal(event.type, "entry", "the history comes before caught-up");
                  if (++seen === 3) controller.abort(reason);
                }
              })(),
              "followSegment to end after the abort",
            ),
          reason,
          "followSegment aborted while reading",
        );
        assert.ok(seen < 30, `the follow must stop after the abort (saw ${seen} of 30)`);
        const early = new ConformanceAbortReason("aborted before followSegment()");
        const aborted = AbortSignal.abort(early);
        await expectReason(
          () => followSegment(store, { space: "s", segment: "g", signal: aborted }).next(""),
          early,
          "followSegment with an aborted signal",
        );
      }),
  );

  define(
    ctx,
    "close: closing the store ends a waiting followSegment with Closed, promptly",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        try {
          await produce(store, "s", "g", records(1, 1));
          const reader = followSegment(store, { space: "s", segment: "g" });
          await reader.nextEntries(1, "the history");
          await reader.caughtUp("caught-up after the history");
          const unborn = followSegment(store, { space: "s", segment: "new" });
          await unborn.caughtUp("caught-up at once for a segment that does not exist");
          await Promise.all([
            expectError(() => reader.next("the follow to end when the store closes"), "Closed"),
            expectError(() => unborn.next("the follow of a new segment to end"), "Closed"),
            sleep(5).then(() => withTimeout(store.close(), "close() with waiting followers")),
          ]);
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "break: leaving followSegment early releases it; the store still closes promptly",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        try {
          await produce(store, "s", "g", records(1, 20));
          const reading = followSegment(store, { space: "s", segment: "g" });
          await reading.nextEntries(5, "the first entries");
          await reading.stop();
          const idle = followSegment(store, { space: "s", segment: "g", afterSequence: 20 });
          await idle.caughtUp("caught-up at the end");
          await idle.stop();
          await withTimeout(produce(store, "s", "g", records(21, 2)), "produce after the breaks");
          const entries: Entry[] = [];
          for await (const event of store.followSegment({ space: "s", segment: "g" })) {
            if (event.type === "caught-up") break;
            entries.push(event.entry);
          }
          assert.deepEqual(seqs(entries), range(1, 22), "a new follower gets everything");
          await withTimeout(store.close(), "close() after followers were left by break");
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "invalid argument: followSegment names, afterSequence and pollIntervalMs",
    () =>
      withStore(ctx, async (store) => {
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
          const reader = followSegment(a, { space: "s", segment: "g", pollIntervalMs: 50 });
          assert.deepEqual(seqs(await reader.nextEntries(3, "the history")), [1, 2, 3]);
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
          assert.deepEqual(seqs(live), range(4, 3 + total), "every sequence once, in order");
          assert.deepEqual(
            live.map(plain),
            (await readSegment(b, "s", "g", { minSequence: 4 })).map(plain),
            "the entries as stored",
          );
          assertNoCaughtUpTwice(reader.events);
          await reader.stop();
        }),
    );
  }
}
