// Conformance: abort signals and early break.

import assert from "node:assert/strict";
import { collect, withTimeout } from "../_async.ts";
import type { ProduceRecord, SegmentStatus, Store } from "../types.ts";
import { assertEmptySegment, assertSegment, describeValue, expectReason } from "./_assertions.ts";
import { labelsOf } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { ConformanceAbortReason, range, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { drain, produce, readSegment, readSpace } from "./_store_calls.ts";
import { deferred, TIMEOUT_MS } from "./_timing.ts";

type AbortableCall = (store: Store, signal: AbortSignal) => Promise<unknown>;

const ALREADY_ABORTED: ReadonlyArray<[string, AbortableCall]> = [
  ["peek", (s, signal) => s.peek("s", "g", { signal })],
  ["getSegmentStatus", (s, signal) => s.getSegmentStatus("s", "g", { signal })],
  ["getSpaces", (s, signal) => drain(s.getSpaces({ signal }))],
  ["getSegments", (s, signal) => drain(s.getSegments("s", { signal }))],
  ["getCheckpoints", (s, signal) => drain(s.getCheckpoints({ signal }))],
  ["getLeases", (s, signal) => drain(s.getLeases({ signal }))],
  ["consumeSegment", (s, signal) => drain(s.consumeSegment({ space: "s", segment: "g", signal }))],
  ["consumeSpace", (s, signal) => drain(s.consumeSpace({ space: "s", signal }))],
];

/** Checks the store still reads and writes normally after an abandoned or aborted call. */
async function assertUsable(store: Store, segment: string, next: number): Promise<void> {
  await withTimeout(
    produce(store, "s", segment, records(next, 2)),
    "produce after the interruption",
    TIMEOUT_MS,
  );
  await assertSegment(store, "s", segment, range(1, next + 1));
  const space = await withTimeout(
    readSpace(store, "s"),
    "consumeSpace after the interruption",
    TIMEOUT_MS,
  );
  assert.ok(space.some((e) => e.segment === segment && e.sequence === next + 1));
  assert.ok((await collect(store.getSpaces())).includes("s"));
}

export function registerAbort(ctx: Ctx): void {
  define(
    ctx,
    "abort: produce aborted while the source waits keeps committed chunks only",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const total = max + 10;
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const waiting = deferred();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<ProduceRecord> {
          yield* records(1, total);
          waiting.resolve();
          // Only the abort ends the wait; then the source ends, and a driver that ignored the
          // signal would commit the partial chunk.
          await new Promise<void>((resolve) => {
            if (controller.signal.aborted) resolve();
            controller.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
        Promise.all([waiting.promise, firstStatus.promise]).then(() => controller.abort(reason));
        const statuses: SegmentStatus[] = [];
        await expectReason(
          () =>
            withTimeout(
              (async () => {
                for await (
                  const status of store.produce(
                    { space: "s", segment: "g", signal: controller.signal },
                    source(),
                  )
                ) {
                  statuses.push(status);
                  firstStatus.resolve();
                }
              })(),
              "produce to end after the abort",
              TIMEOUT_MS,
            ),
          reason,
          "produce",
        );
        assert.ok(statuses.length >= 1, "the first chunk committed before the abort");
        const committed = statuses.at(-1)!.lastSequence;
        assert.ok(committed < total, "the partial chunk is not committed");
        await assertSegment(store, "s", "g", range(1, committed));
        assert.equal((await store.getSegmentStatus("s", "g"))?.lastSequence, committed);
        assert.equal((await readSpace(store, "s")).length, committed, "space index agrees");
        await assertUsable(store, "g", committed + 1);
      }),
  );

  define(
    ctx,
    "abort: produce with a signal aborted before iterating writes nothing",
    () =>
      withFreshStore(ctx, async (store) => {
        const early = new AbortController();
        const earlyReason = new ConformanceAbortReason("aborted before produce()");
        early.abort(earlyReason);
        await expectReason(
          () => produce(store, "s", "g", records(1, 3), early.signal),
          earlyReason,
          "produce with an aborted signal",
        );
        const late = new AbortController();
        const lateReason = new ConformanceAbortReason("aborted between produce() and iterating");
        const pending = store.produce(
          { space: "s", segment: "g", signal: late.signal },
          records(1, 3),
        );
        late.abort(lateReason);
        await expectReason(() => drain(pending), lateReason, "produce aborted before iterating");
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), []);
        await assertUsable(store, "g", 1);
      }),
  );

  define(
    ctx,
    "abort: consumeSegment aborted mid-iteration rejects with the reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 30));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        let seen = 0;
        await expectReason(
          async () => {
            for await (
              const _ of store.consumeSegment({
                space: "s",
                segment: "g",
                signal: controller.signal,
              })
            ) {
              if (++seen === 3) controller.abort(reason);
            }
          },
          reason,
          "consumeSegment",
        );
        assert.ok(seen < 30, `iteration must stop after the abort (saw ${seen} of 30)`);
        await assertUsable(store, "g", 31);
      }),
  );

  define(
    ctx,
    "abort: consumeSpace aborted mid-iteration rejects with the reason",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 15));
        await produce(store, "s", "h", records(1, 15));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        let seen = 0;
        await expectReason(
          async () => {
            for await (const _ of store.consumeSpace({ space: "s", signal: controller.signal })) {
              if (++seen === 3) controller.abort(reason);
            }
          },
          reason,
          "consumeSpace",
        );
        assert.ok(seen < 30, `iteration must stop after the abort (saw ${seen} of 30)`);
        await assertUsable(store, "g", 16);
      }),
  );

  for (const [method, call] of ALREADY_ABORTED) {
    define(
      ctx,
      `abort: ${method} with an already-aborted signal rejects with the reason`,
      () =>
        withFreshStore(ctx, async (store) => {
          await produce(store, "s", "g", records(1, 3));
          const controller = new AbortController();
          const reason = new ConformanceAbortReason();
          controller.abort(reason);
          await expectReason(() => call(store, controller.signal), reason, method);
          // The same call without the signal works.
          const fine = new AbortController();
          await call(store, fine.signal);
        }),
    );
  }

  define(
    ctx,
    "break: leaving consumeSegment early keeps the store usable",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 20));
        let seen = 0;
        for await (const _ of store.consumeSegment({ space: "s", segment: "g" })) {
          if (++seen === 2) break;
        }
        assert.equal(seen, 2);
        await assertUsable(store, "g", 21);
        assert.equal((await readSegment(store, "s", "g")).length, 22);
      }),
  );

  define(
    ctx,
    "break: leaving consumeSpace early keeps the store usable",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 10));
        await produce(store, "s", "h", records(1, 10));
        const before = await readSpace(store, "s");
        let seen = 0;
        for await (const _ of store.consumeSpace({ space: "s" })) {
          if (++seen === 2) break;
        }
        assert.equal(seen, 2);
        await assertUsable(store, "g", 11);
        await assertUsable(store, "h", 11);
        const after = await readSpace(store, "s");
        assert.deepEqual(labelsOf(after).slice(0, before.length), labelsOf(before));
        assert.equal(after.length, 24);
      }),
  );

  define(
    ctx,
    "break: leaving getSpaces and getSegments early keeps the store usable",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const space of ["s", "t", "u"]) {
          for (const segment of ["a", "b", "c"]) {
            await produce(store, space, segment, records(1, 1));
          }
        }
        for await (const space of store.getSpaces()) {
          assert.equal(space, "s");
          break;
        }
        for await (const segment of store.getSegments("s")) {
          assert.equal(segment, "a");
          break;
        }
        await assertUsable(store, "g", 1);
        assert.deepEqual(await collect(store.getSpaces()), ["s", "t", "u"]);
        assert.deepEqual(await collect(store.getSegments("s")), ["a", "b", "c", "g"]);
      }),
  );

  define(
    ctx,
    "break: leaving a produce early commits the chunks yielded so far only",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const statuses: SegmentStatus[] = [];
        for await (
          const status of store.produce({ space: "s", segment: "g" }, records(1, 2 * max + 5))
        ) {
          statuses.push(status);
          break;
        }
        assert.equal(statuses.length, 1);
        const committed = statuses[0].lastSequence;
        const entries = await readSegment(store, "s", "g");
        assert.deepEqual(
          entries.map((e) => e.sequence),
          range(1, committed),
          `after a break at the first status, only that chunk is stored (${
            describeValue(statuses[0])
          })`,
        );
        await assertUsable(store, "g", committed + 1);
      }),
  );
}
