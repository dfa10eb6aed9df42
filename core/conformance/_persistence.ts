// Conformance: reopening the storage (supports.persistence) and several instances over one
// storage (supports.multiInstance). Registered only when the driver supports them.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import type { StoreFactory } from "../types.ts";
import { assertSegment, describeValue, expectError } from "./_assertions.ts";
import { copyOfStatus, labelsOf, plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, range, records, tagged, textOf } from "./_fixtures.ts";
import { withTwoInstances } from "./_instances.ts";
import { isRaceLoss, raceProducers } from "./_race.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";

export function registerPersistence(ctx: Ctx): void {
  if (ctx.supports.persistence) {
    define(
      ctx,
      "persistence: data, statuses, inventory and trx numbering survive reopening",
      async () => {
        const storeId = newId();
        const first = await ctx.factory();
        let second: StoreFactory | undefined;
        try {
          const store = await first.newStore(storeId);
          const max = store.limits.maxChunkRecords;
          try {
            await produce(store, "s", "g", records(1, 2));
            await produce(store, "s", "g", records(3, max + 1));
            await produce(store, "s", "h", records(1, 1, "h"));
            await produce(store, "t", "g", records(1, 1));
          } finally {
            await store.close();
          }
          const before = await (async () => {
            const reader = await first.newStore(storeId);
            try {
              return {
                space: (await readSpace(reader, "s")).map(plainEntry),
                status: copyOfStatus(await reader.getSegmentStatus("s", "g")),
                lastTrx: (await reader.peek("s", "g"))!.trx.number,
              };
            } finally {
              await reader.close();
            }
          })();
          await first.close();

          second = await ctx.factory({ sameStorageAs: first });
          const again = await second.newStore(storeId);
          try {
            assert.deepEqual(
              (await readSpace(again, "s")).map(plainEntry),
              before.space,
              "entries",
            );
            assert.deepEqual(
              copyOfStatus(await again.getSegmentStatus("s", "g")),
              before.status,
              "status",
            );
            assert.deepEqual(await collect(again.getSpaces()), ["s", "t"], "spaces");
            assert.deepEqual(await collect(again.getSegments("s")), ["g", "h"], "segments");
            await assertSegment(again, "s", "g", range(1, max + 3));
            await expectError(
              () => produce(again, "s", "g", records(max + 3, 1)),
              "SequenceMismatch",
            );
            await produce(again, "s", "g", records(max + 4, 1));
            const last = await again.peek("s", "g");
            assert.equal(last?.trx.number, before.lastTrx + 1, "trx numbering continues");
            assert.equal(
              (await again.getSegmentStatus("s", "g"))?.firstTimestamp,
              before.status?.firstTimestamp,
            );
          } finally {
            await again.close();
          }
        } finally {
          await second?.close();
          await first.close();
        }
      },
    );

    define(
      ctx,
      "persistence: other and never-written stores stay isolated after reopening",
      async () => {
        const written = newId();
        const empty = newId();
        const first = await ctx.factory();
        let second: StoreFactory | undefined;
        try {
          const a = await first.newStore(written);
          const b = await first.newStore(empty);
          await produce(a, "s", "g", records(1, 2));
          await a.close();
          await b.close();
          await first.close();
          second = await ctx.factory({ sameStorageAs: first });
          const emptyAgain = await second.newStore(empty);
          const writtenAgain = await second.newStore(written.toUpperCase());
          try {
            assert.deepEqual(await collect(emptyAgain.getSpaces()), []);
            await assertSegment(writtenAgain, "s", "g", [1, 2]);
          } finally {
            await emptyAgain.close();
            await writtenAgain.close();
          }
        } finally {
          await second?.close();
          await first.close();
        }
      },
    );
  }

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "multi-instance: writes through one instance are visible through the other",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await produce(a, "s", "g", records(1, 3));
          await assertSegment(b, "s", "g", [1, 2, 3]);
          assert.equal((await b.getSegmentStatus("s", "g"))?.lastSequence, 3);
          assert.equal((await b.peek("s", "g"))?.sequence, 3);
          assert.deepEqual(await collect(b.getSpaces()), ["s"]);
          assert.deepEqual(await collect(b.getSegments("s")), ["g"]);
          await produce(b, "s", "g", records(4, 2));
          await produce(b, "s", "h", records(1, 1));
          await assertSegment(a, "s", "g", [1, 2, 3, 4, 5]);
          assert.deepEqual(labelsOf(await readSpace(a, "s")), labelsOf(await readSpace(b, "s")));
          assert.deepEqual(await collect(a.getSegments("s")), ["g", "h"]);
          const entries = await readSegment(a, "s", "g");
          assert.deepEqual(entries.map((e) => e.trx.number), [1, 1, 1, 2, 2]);
        }),
    );

    define(
      ctx,
      "multi-instance: producers racing across two instances, exactly one wins",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await raceProducers([a, b], 4, "s", "g", 1, 25);
          await raceProducers([b, a], 4, "s", "g", 26, 10);
          assert.equal((await readSpace(b, "s")).length, 35);
        }),
    );

    define(
      ctx,
      "multi-instance: a stale instance fails at most once, then continues correctly",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          await produce(b, "s", "g", records(1, 2, "b"));
          await produce(a, "s", "g", records(3, 2, "a"));
          // b may believe the head is 2: writing 3..4 again must fail and never overwrite a's.
          await expectError(() => produce(b, "s", "g", records(3, 2, "b")), "SequenceMismatch");
          // The correct continuation may fail once while b learns the head, then works.
          let failures = 0;
          for (;;) {
            try {
              await produce(b, "s", "g", records(5, 2, "b"));
              break;
            } catch (error) {
              failures++;
              assert.ok(
                isRaceLoss(error),
                `unexpected error ${describeValue(error)}`,
              );
              assert.ok(failures <= 1, `failed ${failures} times: ${describeValue(error)}`);
            }
          }
          const entries = await readSegment(a, "s", "g");
          assert.deepEqual(entries.map((e) => e.sequence), range(1, 6));
          assert.deepEqual(
            entries.map(textOf),
            [
              tagged("b", 1),
              tagged("b", 2),
              tagged("a", 3),
              tagged("a", 4),
              tagged("b", 5),
              tagged("b", 6),
            ],
          );
          // And a, whose head is now stale, too.
          let aFailures = 0;
          for (;;) {
            try {
              await produce(a, "s", "g", records(7, 1, "a"));
              break;
            } catch (error) {
              aFailures++;
              assert.ok(aFailures <= 1, `failed ${aFailures} times: ${describeValue(error)}`);
            }
          }
          assert.equal((await b.getSegmentStatus("s", "g"))?.lastSequence, 7);
        }),
    );
  }
}
