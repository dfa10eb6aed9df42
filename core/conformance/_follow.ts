// Conformance: follow, spaces live: history then new chunks, exactly once and in consume order,
// caught-up placement, offsets, prefix-named spaces, a slow consumer, abort, close, break,
// arguments, and (supports.multiInstance) commits of another instance.

import assert from "node:assert/strict";
import { spaceOffset } from "../offsets.ts";
import type { Entry, FollowArgs, Store } from "../types.ts";
import { withTwoInstances } from "./_persistence.ts";
import {
  assertConsumeOrder,
  assertNoCaughtUpTwice,
  collect,
  compareConsumeOrder,
  ConformanceAbortReason,
  type Ctx,
  define,
  expectError,
  expectFirstNextError,
  expectReason,
  FollowReader,
  fromStart,
  plain,
  produce,
  readSpace,
  records,
  sleep,
  spaceKeysOf,
  startWriters,
  withFactory,
  withStore,
  withTimeout,
} from "./_helpers.ts";

/** Everything `consume` reads of `spaces` now. */
function consumeAll(store: Store, spaces: readonly string[]): Promise<Entry[]> {
  return collect(store.consume({ spaces: fromStart(spaces) }));
}

function follow(store: Store, args: FollowArgs): FollowReader {
  return new FollowReader(store.follow(args));
}

export function registerFollow(ctx: Ctx): void {
  define(
    ctx,
    "follow: with no history, caught-up comes first; each live chunk, then caught-up",
    () =>
      withStore(ctx, async (store) => {
        const reader = follow(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once, with no history");
        await produce(store, "s", "g", records(1, 3));
        const first = await reader.nextEntries(3, "the first live chunk");
        assert.deepEqual(spaceKeysOf(first), spaceKeysOf(await readSpace(store, "s")));
        await reader.caughtUp("caught-up after the first live chunk");
        await produce(store, "s", "h", records(1, 2, "h"));
        const second = await reader.nextEntries(2, "the second live chunk");
        assert.deepEqual(second.map(plain), (await readSpace(store, "s")).slice(3).map(plain));
        await reader.caughtUp("caught-up after the second live chunk");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: a history of N entries, then caught-up, then live entries, then caught-up",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 4));
        await produce(store, "s", "h", records(1, 3, "h"));
        await produce(store, "t", "g", records(1, 2)); // another space
        await produce(store, "s", "g", records(5, 5));
        const history = await readSpace(store, "s");
        assert.equal(history.length, 12);
        const reader = follow(store, { spaces: { s: undefined } });
        const delivered = await reader.nextEntries(history.length, "the history");
        assert.deepEqual(delivered.map(plain), history.map(plain), "the history, in order");
        await reader.caughtUp("caught-up right after the history");
        const writers = startWriters(store, ["s", "t"], ["w1", "w2"], 3, 5);
        await writers.done;
        const expected = await readSpace(store, "s");
        const live = await reader.collect(expected.length - history.length, "the live entries");
        assert.deepEqual(spaceKeysOf(live), spaceKeysOf(expected.slice(history.length)));
        await reader.caughtUp("caught-up after the live entries");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: resumes each space strictly after its own offset, then follows live",
    () =>
      withStore(ctx, async (store) => {
        for (const space of ["a", "ab", "b"]) {
          await produce(store, space, "g", records(1, 3));
          await produce(store, space, "h", records(1, 2, "h"));
        }
        const [a, b] = [await readSpace(store, "a"), await readSpace(store, "b")];
        const spaces = { b: spaceOffset(b.at(-1)!), ab: undefined, a: spaceOffset(a[1]) };
        const ab = await readSpace(store, "ab");
        const expected = [...a.slice(2), ...ab].sort(compareConsumeOrder);
        const reader = follow(store, { spaces });
        const history = await reader.nextEntries(expected.length, "the history after offsets");
        assert.deepEqual(spaceKeysOf(history), spaceKeysOf(expected));
        await reader.caughtUp("caught-up after the history");
        await produce(store, "b", "g", records(4, 2));
        const live = await reader.nextEntries(2, "the live chunk of b");
        assert.deepEqual(spaceKeysOf(live), spaceKeysOf((await readSpace(store, "b")).slice(-2)));
        await reader.caughtUp("caught-up after the live chunk");
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: every entry exactly once and in order, under concurrent writers to several spaces",
    () =>
      withStore(ctx, async (store) => {
        // Prefix-named and odd spaces, given in an order that is not their byte order.
        const spaces = ["ab", "a", "\uFEFF", "😀", "10", "9"];
        await produce(store, "a", "old", records(1, 3, "old"));
        await produce(store, "9", "old", records(1, 2, "old"));
        const reader = follow(store, { spaces: fromStart(spaces) });
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
        assert.equal(new Set(spaceKeysOf(seen)).size, seen.length, "no entry twice");
        assert.deepEqual(spaceKeysOf(seen), spaceKeysOf(expected), "every entry, in order");
        assertConsumeOrder(seen, "follow");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: a follower started before its space exists gets its first entries",
    () =>
      withStore(ctx, async (store) => {
        const reader = follow(store, { spaces: { new: undefined }, pollIntervalMs: 50 });
        await reader.caughtUp("caught-up at once for a space that does not exist");
        await produce(store, "ne", "g", records(1, 1));
        await produce(store, "newer", "g", records(1, 1));
        await produce(store, "new", "g", records(1, 2));
        const entries = await reader.nextEntries(2, "the first chunk of the new space");
        assert.deepEqual(spaceKeysOf(entries), spaceKeysOf(await readSpace(store, "new")));
        await reader.caughtUp("caught-up after the first chunk");
        await reader.stop();
      }),
  );

  define(
    ctx,
    "follow: followers of prefix-named spaces (a, ab) never see each other's entries",
    () =>
      withStore(ctx, async (store) => {
        const ofA = follow(store, { spaces: { a: undefined } });
        const ofAb = follow(store, { spaces: { ab: undefined } });
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
        assert.deepEqual(spaceKeysOf([next]), spaceKeysOf((await readSpace(store, "a")).slice(1)));
        await ofA.stop();
        await ofAb.stop();
      }),
  );

  define(
    ctx,
    "follow: a slow consumer gets a big backlog written meanwhile, in order",
    () =>
      withStore(ctx, async (store) => {
        const reader = follow(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once");
        const writers = startWriters(store, ["s"], ["g", "h", "i", "j"], 10, 10);
        let delivered = 0;
        const [seen] = await Promise.all([
          reader.collect(writers.total, "the backlog", async () => {
            if (++delivered % 10 === 0) await sleep(2);
          }),
          writers.done,
        ]);
        await reader.caughtUp("caught-up after the backlog");
        const expected = await readSpace(store, "s");
        assert.equal(expected.length, writers.total);
        assert.deepEqual(spaceKeysOf(seen), spaceKeysOf(expected), "every entry once, in order");
        assertNoCaughtUpTwice(reader.events);
        await reader.stop();
      }),
  );

  define(
    ctx,
    "abort: follow waiting for a commit ends with the signal's reason",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const reader = follow(store, { spaces: { s: undefined }, signal: controller.signal });
        await reader.nextEntries(2, "the history");
        await reader.caughtUp("caught-up after the history");
        // Awaited together, so the follow's end is handled whenever it comes.
        await Promise.all([
          expectReason(
            () => reader.next("the follow to end after the abort"),
            reason,
            "follow waiting for a commit",
          ),
          sleep(5).then(() => controller.abort(reason)),
        ]);
        // The store goes on: a new follower gets everything.
        await produce(store, "s", "g", records(3, 1));
        const again = follow(store, { spaces: { s: undefined } });
        assert.equal((await again.nextEntries(3, "a new follower's history")).length, 3);
        await again.caughtUp("caught-up");
        await again.stop();
      }),
  );

  define(
    ctx,
    "abort: follow aborted while reading history, or before, ends with the reason",
    () =>
      withStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 15));
        await produce(store, "t", "g", records(1, 15));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const signal = controller.signal;
        let seen = 0;
        await expectReason(
          () =>
            withTimeout(
              (async () => {
                for await (const event of store.follow({ spaces: fromStart(["s", "t"]), signal })) {
                  assert.equal(event.type, "entry", "the history comes before caught-up");
                  if (++seen === 3) controller.abort(reason);
                }
              })(),
              "follow to end after the abort",
            ),
          reason,
          "follow aborted while reading",
        );
        assert.ok(seen < 30, `the follow must stop after the abort (saw ${seen} of 30)`);
        const early = new ConformanceAbortReason("aborted before follow()");
        await expectReason(
          () =>
            follow(store, { spaces: { s: undefined }, signal: AbortSignal.abort(early) }).next(""),
          early,
          "follow with an aborted signal",
        );
      }),
  );

  define(
    ctx,
    "close: closing the store ends a waiting follow with Closed, promptly",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        try {
          await produce(store, "s", "g", records(1, 1));
          const reader = follow(store, { spaces: { s: undefined, t: undefined } });
          await reader.nextEntries(1, "the history");
          await reader.caughtUp("caught-up after the history");
          await Promise.all([
            expectError(() => reader.next("the follow to end when the store closes"), "Closed"),
            sleep(5).then(() => withTimeout(store.close(), "close() with a waiting follower")),
          ]);
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "close: closing the store while follow and followSegment read history ends them with Closed",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        try {
          await produce(store, "s", "g", records(1, 200));
          await produce(store, "t", "g", records(1, 200));
          const ofSpaces = follow(store, { spaces: fromStart(["s", "t"]) });
          const ofSegment = new FollowReader(store.followSegment({ space: "s", segment: "g" }));
          await ofSpaces.nextEntries(5, "follow: the first entries");
          await ofSegment.nextEntries(5, "followSegment: the first entries");
          await withTimeout(store.close(), "close() with followers in the middle of a read");
          await expectError(() => ofSpaces.next("follow after close()"), "Closed");
          await expectError(() => ofSegment.next("followSegment after close()"), "Closed");
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "close: closing the factory ends a waiting follow with Closed, promptly",
    async () => {
      const factory = await ctx.factory();
      try {
        const store = await factory.newStore(crypto.randomUUID());
        const reader = follow(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once");
        await Promise.all([
          expectError(() => reader.next("the follow to end when the factory closes"), "Closed"),
          sleep(5).then(() =>
            withTimeout(factory.close(), "factory close() with a waiting follower")
          ),
        ]);
      } finally {
        await factory.close();
      }
    },
  );

  define(
    ctx,
    "close: closing another handle of the store leaves a follower running",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = crypto.randomUUID();
        const store = await factory.newStore(storeId);
        try {
          const other = await factory.newStore(storeId);
          const reader = follow(store, { spaces: { s: undefined } });
          await reader.caughtUp("caught-up at once");
          await produce(other, "s", "g", records(1, 2));
          await reader.nextEntries(2, "the chunk committed through the other handle");
          await reader.caughtUp("caught-up after it");
          await other.close();
          await produce(store, "s", "g", records(3, 1));
          const [third] = await reader.nextEntries(1, "the chunk after the other handle closed");
          assert.equal(third.sequence, 3);
          await reader.stop();
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "break: leaving follow early releases it; the store still closes promptly",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        try {
          await produce(store, "s", "g", records(1, 20));
          // Left in the middle of the history.
          const reading = follow(store, { spaces: { s: undefined } });
          await reading.nextEntries(5, "the first entries");
          await reading.stop();
          // Left while idle.
          const idle = follow(store, { spaces: { s: undefined } });
          await idle.nextEntries(20, "the history");
          await idle.caughtUp("caught-up");
          await idle.stop();
          await withTimeout(produce(store, "s", "g", records(21, 2)), "produce after the breaks");
          let seen = 0;
          for await (const event of store.follow({ spaces: { s: undefined } })) {
            if (event.type === "caught-up") break;
            seen++;
          }
          assert.equal(seen, 22, "a new follower gets everything, then caught-up");
          await withTimeout(store.close(), "close() after followers were left by break");
        } finally {
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "invalid argument: follow spaces, offsets and pollIntervalMs",
    () =>
      withStore(ctx, async (store) => {
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
          const reader = follow(a, { spaces: fromStart(["t", "s"]), pollIntervalMs: 50 });
          const history = await reader.nextEntries(3, "the other instance's history");
          assert.deepEqual(spaceKeysOf(history), spaceKeysOf(await readSpace(b, "s")));
          await reader.caughtUp("caught-up after the history");
          const writers = startWriters(b, ["s", "t"], ["g2", "h"], 4, 5);
          const [live] = await Promise.all([
            reader.collect(writers.total, "the other instance's live entries"),
            writers.done,
          ]);
          await reader.caughtUp("caught-up after the live entries");
          const seen = [...history, ...live];
          const expected = await consumeAll(b, ["s", "t"]);
          assert.equal(new Set(spaceKeysOf(seen)).size, seen.length, "no entry twice");
          assert.deepEqual(spaceKeysOf(seen), spaceKeysOf(expected), "every entry, in order");
          assert.deepEqual(seen.map(plain), (await consumeAll(a, ["s", "t"])).map(plain));
          assertNoCaughtUpTwice(reader.events);
          await reader.stop();
        }),
    );
  }
}
