// Conformance: restore is lazy, honours abort signals, and ends cleanly at close().

import assert from "node:assert/strict";
import { collect, sleep, withTimeout } from "../_async.ts";
import { StreamkitError } from "../errors.ts";
import type { Entry, SegmentStatus } from "../types.ts";
import { assertEmptySegment, describeValue, expectError, expectReason } from "./_assertions.ts";
import { plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { ConformanceAbortReason, newId } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import {
  anHourAgo,
  assertRestored,
  assertStatuses,
  chunkEnds,
  restore,
  trxEntries,
} from "./_restore_fixtures.ts";
import { drain, readSegment, readSpace } from "./_store_calls.ts";
import { deferred, TIMEOUT_MS } from "./_timing.ts";

export function registerRestoreLifecycle(ctx: Ctx): void {
  define(
    ctx,
    "restore: nothing is written, and no entry read, until the result is iterated",
    () =>
      withFreshStore(ctx, async (store) => {
        const entries = trxEntries("s", "g", 1, 3, { timestamp: anHourAgo(), number: 1 });
        let pulled = 0;
        function* source(): Generator<Entry> {
          for (const entry of entries) {
            pulled++;
            yield entry;
          }
        }
        const pending = store.restore({ space: "s", segment: "g" }, source());
        await sleep(20);
        assert.equal(pulled, 0, "the source must not be pulled before the result is iterated");
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), [], "spaces before iterating");
        const statuses = await collect(pending);
        assert.equal(pulled, 3);
        assertStatuses(statuses, entries, [3]);
        await assertRestored(store, "s", "g", entries);
      }),
  );

  define(
    ctx,
    "restore: an abort before iterating writes nothing; during it, committed chunks stay",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const first = trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 });
        const second = trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 });

        const early = new AbortController();
        const earlyReason = new ConformanceAbortReason("aborted before restore()");
        early.abort(earlyReason);
        await expectReason(
          () => restore(store, "s", "g", first, early.signal),
          earlyReason,
          "restore with an aborted signal",
        );
        const late = new AbortController();
        const lateReason = new ConformanceAbortReason("aborted between restore() and iterating");
        const pending = store.restore({ space: "s", segment: "g", signal: late.signal }, first);
        late.abort(lateReason);
        await expectReason(() => drain(pending), lateReason, "restore aborted before iterating");
        await assertEmptySegment(store, "s", "g");

        const controller = new AbortController();
        const reason = new ConformanceAbortReason();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<Entry> {
          yield* [...first, ...second];
          // Only the abort ends the wait: a restore that ignored it would commit `second`.
          await new Promise<void>((resolve) => {
            if (controller.signal.aborted) resolve();
            controller.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
        firstStatus.promise.then(() => controller.abort(reason));
        const statuses: SegmentStatus[] = [];
        await expectReason(
          () =>
            withTimeout(
              (async () => {
                const args = { space: "s", segment: "g", signal: controller.signal };
                for await (const status of store.restore(args, source())) {
                  statuses.push(status);
                  firstStatus.resolve();
                }
              })(),
              "restore to end after the abort",
              TIMEOUT_MS,
            ),
          reason,
          "restore",
        );
        assertStatuses(statuses, first, [2]);
        await assertRestored(store, "s", "g", first);
        await restore(store, "s", "g", second);
        await assertRestored(store, "s", "g", [...first, ...second]);
      }),
  );

  define(
    ctx,
    "restore: created before close() and iterated after it fails with Closed",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const entries = trxEntries("s", "g", 1, 2, { timestamp: anHourAgo(), number: 1 });
        const pending = store.restore({ space: "s", segment: "g" }, entries);
        await store.close();
        await expectError(() => drain(pending), "Closed");
        await expectError(() => restore(store, "s", "g", entries), "Closed");
        const again = await factory.newStore(storeId);
        try {
          await assertEmptySegment(again, "s", "g");
        } finally {
          await again.close();
        }
      }),
  );

  define(
    ctx,
    "restore: in flight at close(), it commits whole chunks only; close() waits for it",
    () =>
      withFactory(ctx, async (factory) => {
        const storeId = newId();
        const store = await factory.newStore(storeId);
        const t = anHourAgo();
        const entries = [
          ...trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 }),
          ...trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 }),
          ...trxEntries("s", "g", 5, 2, { timestamp: t, number: 3 }),
        ];
        const midway = deferred();
        const release = deferred();
        const firstStatus = deferred();
        async function* source(): AsyncGenerator<Entry> {
          yield* entries.slice(0, 4);
          midway.resolve();
          await release.promise;
          yield* entries.slice(4);
        }
        const statuses: SegmentStatus[] = [];
        const restoring = (async () => {
          for await (const status of store.restore({ space: "s", segment: "g" }, source())) {
            statuses.push(status);
            firstStatus.resolve();
          }
        })();
        restoring.catch(() => {});
        const again = await factory.newStore(storeId);
        try {
          await withTimeout(
            Promise.all([midway.promise, firstStatus.promise]),
            "the first chunk of the restore",
            TIMEOUT_MS,
          );
          const closing = store.close();
          release.resolve();
          await withTimeout(closing, "close() with a restore in flight", TIMEOUT_MS);
          const afterClose = await readSegment(again, "s", "g");
          let failure: unknown;
          await withTimeout(restoring, "the restore to settle", TIMEOUT_MS).catch((error) =>
            failure = error
          );
          const stored = await readSegment(again, "s", "g");
          assert.equal(stored.length, afterClose.length, "nothing is written after close()");
          const ends = [0, ...chunkEnds([2, 2, 2], again.limits.maxChunkRecords)];
          assert.ok(ends.includes(stored.length), `whole trxs only, got ${stored.length}`);
          assert.deepEqual(stored.map(plainEntry), entries.slice(0, stored.length).map(plainEntry));
          assert.ok(stored.length >= statuses.at(-1)!.lastSequence, "every yielded chunk stays");
          if (failure === undefined) {
            assert.equal(stored.length, entries.length, "a restore that ended committed all");
          } else {
            assert.ok(
              failure instanceof StreamkitError && failure.kind === "Closed",
              `an interrupted restore fails with Closed, got ${describeValue(failure)}`,
            );
          }
          assert.equal((await readSpace(again, "s")).length, stored.length, "space index agrees");
        } finally {
          release.resolve();
          await store.close();
          await again.close();
        }
      }),
  );
}
