// Conformance: follow, spaces live: history then new chunks, exactly once and in consume order,
// caught-up placement, offsets, prefix-named spaces, a slow consumer, arguments, and
// (supports.multiInstance) commits of another instance.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry, FollowArgs, Store } from "../types.ts";
import { expectFirstNextError } from "./_assertions.ts";
import { plainEntry, spaceLabelsOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { fromStart, records } from "./_fixtures.ts";
import { assertNoCaughtUpTwice, followReader, readBacklogSlowly } from "./_follow_reader.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";
import { assertConsumeOrder, compareConsumeOrder } from "./_order.ts";
import { produce, readSpace } from "./_store_calls.ts";
import { startWriters } from "./_writers.ts";

/** Everything `consume` reads of `spaces` now. */
function consumeAll(store: Store, spaces: readonly string[]): Promise<Entry[]> {
  return collect(store.consume({ spaces: fromStart(spaces) }));
}

export function registerFollow(ctx: Ctx): void {
  define(
    ctx,
    "follow: with no history, caught-up comes first; each live chunk, then caught-up",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followReader(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once, with no history");
        await produce(store, "s", "g", records(1, 3));
        const first = await reader.nextEntries(3, "the first live chunk");
        assert.deepEqual(spaceLabelsOf(first), spaceLabelsOf(await readSpace(store, "s")));
        await reader.caughtUp("caught-up after the first live chunk");
        await produce(store, "s", "h", records(1, 2, "h"));
        const second = await reader.nextEntries(2, "the second live chunk");
        assert.deepEqual(
          second.map(plainEntry),
          (await readSpace(store, "s")).slice(3).map(plainEntry),
        );
        await reader.caughtUp("caught-up after the second live chunk");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: many followers at one position each get every chunk once, as entries of their own",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const readers = Array.from(
          { length: 24 },
          () => followReader(store, { spaces: { s: undefined } }),
        );
        for (const reader of readers) {
          await reader.nextEntries(2, "the history");
          await reader.caughtUp("caught-up after the history");
        }
        // One stops while the others wait for the same commit: theirs go on.
        await readers.pop()!.stop();
        for (let chunk = 0; chunk < 3; chunk++) {
          await produce(store, "s", "g", records(3 + 2 * chunk, 2));
          const expected = (await readSpace(store, "s")).slice(2 + 2 * chunk).map(plainEntry);
          const delivered = await Promise.all(
            readers.map((reader) => reader.nextEntries(2, `chunk ${chunk + 1}`)),
          );
          // What one follower does with its entries is no other follower's business.
          delivered[0][0].payload.fill(0xff);
          delivered[0][0].metadata.changed = "by the first follower";
          for (const [i, entries] of delivered.entries()) {
            if (i === 0) continue;
            assert.deepEqual(
              entries.map(plainEntry),
              expected,
              `follower ${i}, chunk ${chunk + 1}`,
            );
          }
          for (const reader of readers) await reader.caughtUp(`caught-up after chunk ${chunk + 1}`);
        }
        for (const reader of readers) {
          assertNoCaughtUpTwice(reader.events);
          await reader.stop();
        }
      }),
  );

  define(
    ctx,
    "follow: a history of N entries, then caught-up, then live entries, then caught-up",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 4));
        await produce(store, "s", "h", records(1, 3, "h"));
        await produce(store, "t", "g", records(1, 2)); // another space
        await produce(store, "s", "g", records(5, 5));
        const history = await readSpace(store, "s");
        assert.equal(history.length, 12);
        const reader = followReader(store, { spaces: { s: undefined } });
        const delivered = await reader.nextEntries(history.length, "the history");
        assert.deepEqual(
          delivered.map(plainEntry),
          history.map(plainEntry),
          "the history, in order",
        );
        await reader.caughtUp("caught-up right after the history");
        const writers = startWriters(store, ["s", "t"], ["w1", "w2"], 3, 5);
        await writers.done;
        const expected = await readSpace(store, "s");
        const live = await reader.collect(expected.length - history.length, "the live entries");
        assert.deepEqual(spaceLabelsOf(live), spaceLabelsOf(expected.slice(history.length)));
        await reader.caughtUp("caught-up after the live entries");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: resumes each space strictly after its own offset, then follows live",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const space of ["a", "ab", "b"]) {
          await produce(store, space, "g", records(1, 3));
          await produce(store, space, "h", records(1, 2, "h"));
        }
        const [a, b] = [await readSpace(store, "a"), await readSpace(store, "b")];
        const spaces = { b: spaceOffset(b.at(-1)!), ab: undefined, a: spaceOffset(a[1]) };
        const ab = await readSpace(store, "ab");
        const expected = [...a.slice(2), ...ab].sort(compareConsumeOrder);
        const reader = followReader(store, { spaces });
        const history = await reader.nextEntries(expected.length, "the history after offsets");
        assert.deepEqual(spaceLabelsOf(history), spaceLabelsOf(expected));
        await reader.caughtUp("caught-up after the history");
        await produce(store, "b", "g", records(4, 2));
        const live = await reader.nextEntries(2, "the live chunk of b");
        assert.deepEqual(
          spaceLabelsOf(live),
          spaceLabelsOf((await readSpace(store, "b")).slice(-2)),
        );
        await reader.caughtUp("caught-up after the live chunk");
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: every entry exactly once and in order, under concurrent writers to several spaces",
    () =>
      withFreshStore(ctx, async (store) => {
        // Prefix-named and odd spaces, given in an order that is not their byte order.
        const spaces = ["ab", "a", "\uFEFF", "😀", "10", "9"];
        await produce(store, "a", "old", records(1, 3, "old"));
        await produce(store, "9", "old", records(1, 2, "old"));
        const reader = followReader(store, { spaces: fromStart(spaces) });
        const writers = startWriters(store, spaces, ["w1", "w2"], 4, 6);
        const noise = startWriters(store, ["a\u0001", "b"], ["w1"], 4, 6);
        const [seen] = await Promise.all([
          reader.collect(5 + writers.total, "every entry"),
          writers.done,
          noise.done,
        ]);
        await reader.caughtUp("caught-up once everything was delivered");
        const expected = await consumeAll(store, spaces);
        assert.equal(expected.length, 5 + writers.total, "fixture: every write committed");
        assert.equal(new Set(spaceLabelsOf(seen)).size, seen.length, "no entry twice");
        assert.deepEqual(spaceLabelsOf(seen), spaceLabelsOf(expected), "every entry, in order");
        assertConsumeOrder(seen, "follow");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: a follower started before its space exists gets its first entries",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followReader(store, { spaces: { new: undefined }, pollIntervalMs: 50 });
        await reader.caughtUp("caught-up at once for a space that does not exist");
        await produce(store, "ne", "g", records(1, 1));
        await produce(store, "newer", "g", records(1, 1));
        await produce(store, "new", "g", records(1, 2));
        const entries = await reader.nextEntries(2, "the first chunk of the new space");
        assert.deepEqual(spaceLabelsOf(entries), spaceLabelsOf(await readSpace(store, "new")));
        await reader.caughtUp("caught-up after the first chunk");
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: followers of prefix-named spaces (a, ab) never see each other's entries",
    () =>
      withFreshStore(ctx, async (store) => {
        const ofA = followReader(store, { spaces: { a: undefined } });
        const ofAb = followReader(store, { spaces: { ab: undefined } });
        await ofA.caughtUp("a: caught-up at once");
        await ofAb.caughtUp("ab: caught-up at once");
        await produce(store, "ab", "g", records(1, 2));
        await produce(store, "a\u0001", "g", records(1, 1));
        await produce(store, "a", "g", records(1, 1));
        const [fromA] = await ofA.nextEntries(1, "a: its first entry");
        assert.equal(fromA.space, "a", "the follower of a gets a's entry first");
        await ofA.caughtUp("a: caught-up after its entry");
        const fromAb = await ofAb.nextEntries(2, "ab: its entries");
        assert.deepEqual(fromAb.map((entry) => entry.space), ["ab", "ab"]);
        await ofAb.caughtUp("ab: caught-up after its entries");
        await produce(store, "ab", "g", records(3, 1));
        await produce(store, "a", "g", records(2, 1));
        const [next] = await ofA.nextEntries(1, "a: its second entry");
        assert.deepEqual(
          spaceLabelsOf([next]),
          spaceLabelsOf((await readSpace(store, "a")).slice(1)),
        );
        await ofA.stop();
        await ofAb.stop();
      }),
  );

  define(
    ctx,
    "follow: a slow consumer gets a big backlog written meanwhile, in order",
    () =>
      withFreshStore(ctx, async (store) => {
        const reader = followReader(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once");
        const writers = startWriters(store, ["s"], ["g", "h", "i", "j"], 10, 10);
        const seen = await readBacklogSlowly(reader, writers);
        const expected = await readSpace(store, "s");
        assert.equal(expected.length, writers.total);
        assert.deepEqual(
          spaceLabelsOf(seen),
          spaceLabelsOf(expected),
          "every entry once, in order",
        );
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "invalid argument: follow spaces, offsets and pollIntervalMs",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "a", "g", records(1, 1));
        await produce(store, "ab", "g", records(1, 1));
        const [fromA] = await readSpace(store, "a");
        const badSpaces: unknown[] = [{}, null, undefined, ["a"], "a", { "": undefined }, {
          "a\u0000": undefined,
        }];
        for (const spaces of badSpaces) {
          await expectFirstNextError(
            () => store.follow({ spaces: spaces as FollowArgs["spaces"] }),
            "InvalidArgument",
            "spaces",
          );
        }
        for (const spaces of [{ ab: spaceOffset(fromA) }, { b: spaceOffset(fromA) }]) {
          await expectFirstNextError(() => store.follow({ spaces }), "InvalidArgument", "offset");
        }
        for (const pollIntervalMs of [0, -1, 1.5, NaN, Infinity, "100", 2 ** 53]) {
          await expectFirstNextError(
            () =>
              store.follow({ spaces: { a: undefined }, pollIntervalMs: pollIntervalMs as number }),
            "InvalidArgument",
            "pollIntervalMs",
          );
        }
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "multi-instance: follow sees what another instance commits, exactly once and in order",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await produce(b, "s", "g", records(1, 3));
          const reader = followReader(a, { spaces: fromStart(["t", "s"]), pollIntervalMs: 50 });
          const history = await reader.nextEntries(3, "the other instance's history");
          assert.deepEqual(spaceLabelsOf(history), spaceLabelsOf(await readSpace(b, "s")));
          await reader.caughtUp("caught-up after the history");
          const writers = startWriters(b, ["s", "t"], ["g2", "h"], 4, 5);
          const [live] = await Promise.all([
            reader.collect(writers.total, "the other instance's live entries"),
            writers.done,
          ]);
          await reader.caughtUp("caught-up after the live entries");
          const seen = [...history, ...live];
          const expected = await consumeAll(b, ["s", "t"]);
          assert.equal(new Set(spaceLabelsOf(seen)).size, seen.length, "no entry twice");
          assert.deepEqual(spaceLabelsOf(seen), spaceLabelsOf(expected), "every entry, in order");
          assert.deepEqual(seen.map(plainEntry), (await consumeAll(a, ["s", "t"])).map(plainEntry));
          assertNoCaughtUpTwice(reader.events);
          await reader.stop();
        }),
    );
  }
}
