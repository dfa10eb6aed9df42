// Conformance: SequenceMismatch.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { isTransient, StreamkitError } from "../errors.ts";
import {
  assertEmptySegment,
  assertMismatch,
  assertSegment,
  describeValue,
  expectError,
} from "./_assertions.ts";
import { copyOfStatus } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { range, records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { produce, produceUntilError } from "./_store_calls.ts";

export function registerSequence(ctx: Ctx): void {
  define(
    ctx,
    "sequence mismatch: a new segment must start at 1",
    () =>
      withFreshStore(ctx, async (store) => {
        const error = await expectError(
          () => produce(store, "s", "g", records(2, 3)),
          "SequenceMismatch",
        );
        assert.ok(error instanceof StreamkitError);
        assertMismatch(error, 1, 2);
        assert.equal(isTransient(error), false);
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), []);
      }),
  );

  define(
    ctx,
    "sequence mismatch: an existing segment must continue at last + 1 (behind)",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 3));
        const error = await expectError(
          () => produce(store, "s", "g", records(2, 3, "x")),
          "SequenceMismatch",
        );
        assertMismatch(error, 4, 2);
        const again = await expectError(
          () => produce(store, "s", "g", records(3, 1, "x")),
          "SequenceMismatch",
        );
        assertMismatch(again, 4, 3);
        await assertSegment(store, "s", "g", [1, 2, 3]);
      }),
  );

  define(
    ctx,
    "sequence mismatch: an existing segment must continue at last + 1 (ahead)",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 3));
        const error = await expectError(
          () => produce(store, "s", "g", records(6, 2, "x")),
          "SequenceMismatch",
        );
        assertMismatch(error, 4, 6);
        await assertSegment(store, "s", "g", [1, 2, 3]);
        assert.equal((await store.getSegmentStatus("s", "g"))?.lastSequence, 3);
      }),
  );

  define(
    ctx,
    "sequence mismatch: a gap in the middle of a chunk writes nothing of it",
    () =>
      withFreshStore(ctx, async (store) => {
        const error = await expectError(
          () => produce(store, "s", "g", [...records(1, 2), ...records(4, 2)]),
          "SequenceMismatch",
        );
        assertMismatch(error, 3, 4);
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSegments("s")), []);
        assert.deepEqual(await collect(store.consumeSpace({ space: "s" })), []);
      }),
  );

  define(
    ctx,
    "sequence mismatch: a middle record of a chunk on an existing segment",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 3));
        const error = await expectError(
          () => produce(store, "s", "g", [...records(4, 2, "x"), ...records(7, 1, "x")]),
          "SequenceMismatch",
        );
        assertMismatch(error, 6, 7);
        await assertSegment(store, "s", "g", [1, 2, 3]);
        assert.equal((await collect(store.consumeSpace({ space: "s" }))).length, 3);
      }),
  );

  define(
    ctx,
    "sequence mismatch: a repeated sequence in a chunk",
    () =>
      withFreshStore(ctx, async (store) => {
        const error = await expectError(
          () => produce(store, "s", "g", [...records(1, 2), ...records(2, 1)]),
          "SequenceMismatch",
        );
        assertMismatch(error, 3, 2);
        await assertEmptySegment(store, "s", "g");
      }),
  );

  define(
    ctx,
    "sequence mismatch: in a later chunk, the chunks before it stay",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const list = records(1, max + 3);
        const bad = max + 2; // in the second chunk at the latest (a chunk holds <= max records)
        list[bad - 1] = { ...list[bad - 1], sequence: bad + 3 };
        const { statuses, error, failed } = await produceUntilError(store, "s", "g", list);
        assert.ok(failed, "the produce must fail");
        assert.ok(
          error instanceof StreamkitError,
          `expected a StreamkitError, got ${describeValue(error)}`,
        );
        assert.equal(error.kind, "SequenceMismatch");
        assertMismatch(error, bad, bad + 3);
        assert.ok(statuses.length >= 1, "the first chunk commits before the bad one");
        const committed = statuses.at(-1)!.lastSequence;
        assert.ok(committed < bad, "nothing of the failing chunk is written");
        await assertSegment(store, "s", "g", range(1, committed));
        assert.deepEqual(
          copyOfStatus(await store.getSegmentStatus("s", "g")),
          copyOfStatus(statuses.at(-1)),
        );
      }),
  );

  define(
    ctx,
    "sequence mismatch: a produce continuing correctly after a failure works",
    () =>
      withFreshStore(ctx, async (store) => {
        await expectError(() => produce(store, "s", "g", records(3, 1)), "SequenceMismatch");
        await produce(store, "s", "g", records(1, 2));
        await expectError(() => produce(store, "s", "g", records(2, 2, "x")), "SequenceMismatch");
        await expectError(
          () => produce(store, "s", "g", [...records(3, 1), ...records(3, 1)]),
          "SequenceMismatch",
        );
        const statuses = await produce(store, "s", "g", records(3, 3));
        assert.equal(statuses.at(-1)?.lastSequence, 5);
        await assertSegment(store, "s", "g", [1, 2, 3, 4, 5]);
      }),
  );
}
