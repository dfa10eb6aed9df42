// Conformance: consume stopped by an abort signal, by break, and by close(); the store goes on.

import assert from "node:assert/strict";
import { withTimeout } from "../_async.ts";
import { expectFirstNextError, expectReason } from "./_assertions.ts";
import { type Ctx, define } from "./_context.ts";
import { ConformanceAbortReason, fromStart, range, records } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import { drain, produce, readSpaces } from "./_store_calls.ts";
import { TIMEOUT_MS } from "./_timing.ts";

export function registerConsumeStopped(ctx: Ctx): void {
  define(
    ctx,
    "abort: consume aborted mid-iteration, or before, rejects with the reason",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const space of ["a", "b"]) await produce(store, space, "g", records(1, 15));
        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        let seen = 0;
        await expectReason(
          async () => {
            const signal = controller.signal;
            for await (const _ of store.consume({ spaces: fromStart(["a", "b"]), signal })) {
              if (++seen === 3) controller.abort(reason);
            }
          },
          reason,
          "consume",
        );
        assert.ok(seen < 30, `iteration must stop after the abort (saw ${seen} of 30)`);
        await expectReason(
          () => drain(store.consume({ spaces: fromStart(["a"]), signal: controller.signal })),
          reason,
          "consume with an aborted signal",
        );
        assert.equal((await readSpaces(store, { spaces: fromStart(["a", "b"]) })).length, 30);
      }),
  );

  define(
    ctx,
    "break: leaving consume early keeps the store usable",
    () =>
      withFreshStore(ctx, async (store) => {
        for (const space of ["a", "b"]) await produce(store, space, "g", records(1, 10));
        let seen = 0;
        for await (const _ of store.consume({ spaces: fromStart(["a", "b"]) })) {
          if (++seen === 2) break;
        }
        assert.equal(seen, 2);
        await withTimeout(
          produce(store, "a", "g", records(11, 2)),
          "produce after the break",
          TIMEOUT_MS,
        );
        const all = await withTimeout(
          readSpaces(store, { spaces: fromStart(["a", "b"]) }),
          "consume after the break",
          TIMEOUT_MS,
        );
        assert.equal(all.length, 22);
        assert.deepEqual(range(1, 12), all.filter((e) => e.space === "a").map((e) => e.sequence));
      }),
  );

  define(
    ctx,
    "close: consume, follow and followSegment fail with Closed after close()",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(crypto.randomUUID());
        await produce(store, "s", "g", records(1, 2));
        await store.close();
        await expectFirstNextError(() => store.consume({ spaces: { s: undefined } }), "Closed");
        await expectFirstNextError(() => store.follow({ spaces: { s: undefined } }), "Closed");
        await expectFirstNextError(
          () => store.followSegment({ space: "s", segment: "g" }),
          "Closed",
        );
      }),
  );
}
