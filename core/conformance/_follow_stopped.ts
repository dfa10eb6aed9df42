// Conformance: follow and followSegment stopped by an abort signal, by closing the store, a
// handle or the factory, and by break; the store goes on.

import assert from "node:assert/strict";
import { sleep, withTimeout } from "../_async.ts";
import type { Entry } from "../types.ts";
import { expectError, expectReason } from "./_assertions.ts";
import { sequencesOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { ConformanceAbortReason, fromStart, range, records } from "./_fixtures.ts";
import {
  abortDuringHistory,
  abortWhileWaiting,
  FollowReader,
  followReader,
  followSegmentReader,
} from "./_follow_reader.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import { produce } from "./_store_calls.ts";
import { TIMEOUT_MS } from "./_timing.ts";

export function registerFollowStopped(ctx: Ctx): void {
  define(
    ctx,
    "abort: follow waiting for a commit ends with the signal's reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const reader = followReader(store, { spaces: { s: undefined }, signal: controller.signal });
        await reader.nextEntries(2, "the history");
        await reader.caughtUp("caught-up after the history");
        await abortWhileWaiting(reader, controller, reason, "follow waiting for a commit");
        // The store goes on: a new follower gets everything.
        await produce(store, "s", "g", records(3, 1));
        const again = followReader(store, { spaces: { s: undefined } });
        assert.equal((await again.nextEntries(3, "a new follower's history")).length, 3);
        await again.caughtUp("caught-up");
        await again.stop();
      }),
  );

  define(
    ctx,
    "abort: follow aborted while reading history, or before, ends with the reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 15));
        await produce(store, "t", "g", records(1, 15));
        const seen = await abortDuringHistory(
          (signal) => store.follow({ spaces: fromStart(["s", "t"]), signal }),
          3,
          "follow",
        );
        assert.ok(seen < 30, `the follow must stop after the abort (saw ${seen} of 30)`);
        const early = new ConformanceAbortReason("aborted before follow()");
        await expectReason(
          () =>
            followReader(store, { spaces: { s: undefined }, signal: AbortSignal.abort(early) })
              .next(""),
          early,
          "follow with an aborted signal",
        );
      }),
  );

  define(
    ctx,
    "close: closing the store ends a waiting follow with Closed, promptly",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 1));
        const reader = followReader(store, { spaces: { s: undefined, t: undefined } });
        await reader.nextEntries(1, "the history");
        await reader.caughtUp("caught-up after the history");
        await Promise.all([
          expectError(() => reader.next("the follow to end when the store closes"), "Closed"),
          sleep(5).then(() =>
            withTimeout(store.close(), "close() with a waiting follower", TIMEOUT_MS)
          ),
        ]);
      }),
  );

  define(
    ctx,
    "close: closing the store while follow and followSegment read history ends them with Closed",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 200));
        await produce(store, "t", "g", records(1, 200));
        const ofSpaces = followReader(store, { spaces: fromStart(["s", "t"]) });
        const ofSegment = new FollowReader(store.followSegment({ space: "s", segment: "g" }));
        await ofSpaces.nextEntries(5, "follow: the first entries");
        await ofSegment.nextEntries(5, "followSegment: the first entries");
        await withTimeout(
          store.close(),
          "close() with followers in the middle of a read",
          TIMEOUT_MS,
        );
        await expectError(() => ofSpaces.next("follow after close()"), "Closed");
        await expectError(() => ofSegment.next("followSegment after close()"), "Closed");
      }),
  );

  define(
    ctx,
    "close: closing the factory ends a waiting follow with Closed, promptly",
    async () => {
      const factory = await ctx.factory();
      try {
        const store = await factory.newStore(crypto.randomUUID());
        const reader = followReader(store, { spaces: { s: undefined } });
        await reader.caughtUp("caught-up at once");
        await Promise.all([
          expectError(() => reader.next("the follow to end when the factory closes"), "Closed"),
          sleep(5).then(() =>
            withTimeout(factory.close(), "factory close() with a waiting follower", TIMEOUT_MS)
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
          const reader = followReader(store, { spaces: { s: undefined } });
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
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 20));
        // Left in the middle of the history.
        const reading = followReader(store, { spaces: { s: undefined } });
        await reading.nextEntries(5, "the first entries");
        await reading.stop();
        // Left while idle.
        const idle = followReader(store, { spaces: { s: undefined } });
        await idle.nextEntries(20, "the history");
        await idle.caughtUp("caught-up");
        await idle.stop();
        await withTimeout(
          produce(store, "s", "g", records(21, 2)),
          "produce after the breaks",
          TIMEOUT_MS,
        );
        let seen = 0;
        for await (const event of store.follow({ spaces: { s: undefined } })) {
          if (event.type === "caught-up") break;
          seen++;
        }
        assert.equal(seen, 22, "a new follower gets everything, then caught-up");
        await withTimeout(store.close(), "close() after the breaks", TIMEOUT_MS);
      }),
  );

  define(
    ctx,
    "abort: followSegment waiting for a commit ends with the signal's reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const signal = controller.signal;
        const reader = followSegmentReader(store, { space: "s", segment: "g", signal });
        await reader.nextEntries(2, "the history");
        await reader.caughtUp("caught-up after the history");
        await abortWhileWaiting(reader, controller, reason, "followSegment waiting for a commit");
        await produce(store, "s", "g", records(3, 1));
        const again = followSegmentReader(store, { space: "s", segment: "g" });
        assert.deepEqual(sequencesOf(await again.nextEntries(3, "a new follower's history")), [
          1,
          2,
          3,
        ]);
        await again.stop();
      }),
  );

  define(
    ctx,
    "abort: followSegment aborted while reading history, or before, ends with the reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 30));
        const seen = await abortDuringHistory(
          (signal) => store.followSegment({ space: "s", segment: "g", signal }),
          3,
          "followSegment",
        );
        assert.ok(seen < 30, `the follow must stop after the abort (saw ${seen} of 30)`);
        const early = new ConformanceAbortReason("aborted before followSegment()");
        const aborted = AbortSignal.abort(early);
        await expectReason(
          () => followSegmentReader(store, { space: "s", segment: "g", signal: aborted }).next(""),
          early,
          "followSegment with an aborted signal",
        );
      }),
  );

  define(
    ctx,
    "close: closing the store ends a waiting followSegment with Closed, promptly",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 1));
        const reader = followSegmentReader(store, { space: "s", segment: "g" });
        await reader.nextEntries(1, "the history");
        await reader.caughtUp("caught-up after the history");
        const unborn = followSegmentReader(store, { space: "s", segment: "new" });
        await unborn.caughtUp("caught-up at once for a segment that does not exist");
        await Promise.all([
          expectError(() => reader.next("the follow to end when the store closes"), "Closed"),
          expectError(() => unborn.next("the follow of a new segment to end"), "Closed"),
          sleep(5).then(() =>
            withTimeout(store.close(), "close() with waiting followers", TIMEOUT_MS)
          ),
        ]);
      }),
  );

  define(
    ctx,
    "break: leaving followSegment early releases it; the store still closes promptly",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 20));
        const reading = followSegmentReader(store, { space: "s", segment: "g" });
        await reading.nextEntries(5, "the first entries");
        await reading.stop();
        const idle = followSegmentReader(store, { space: "s", segment: "g", afterSequence: 20 });
        await idle.caughtUp("caught-up at the end");
        await idle.stop();
        await withTimeout(
          produce(store, "s", "g", records(21, 2)),
          "produce after the breaks",
          TIMEOUT_MS,
        );
        const entries: Entry[] = [];
        for await (const event of store.followSegment({ space: "s", segment: "g" })) {
          if (event.type === "caught-up") break;
          entries.push(event.entry);
        }
        assert.deepEqual(sequencesOf(entries), range(1, 22), "a new follower gets everything");
        await withTimeout(store.close(), "close() after the breaks", TIMEOUT_MS);
      }),
  );
}
