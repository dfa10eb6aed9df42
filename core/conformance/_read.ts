// Conformance: peek, getSegmentStatus, getSpaces and getSegments.

import assert from "node:assert/strict";
import { collect, sleep } from "../_async.ts";
import { expectError } from "./_assertions.ts";
import { copyOfStatus, expectedStatus, plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { records, utf8 } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { byteSort } from "./_order.ts";
import { drain, produce, readSegment } from "./_store_calls.ts";
import { tickPast } from "./_timing.ts";

const INVENTORY_NAMES = [
  "b",
  "a",
  "ab",
  "A",
  "\uFF61",
  "😀",
  "é",
  "z",
  " ",
  "a\u0001",
  "~",
  "a b",
  "Z",
];

export function registerRead(ctx: Ctx): void {
  define(
    ctx,
    "peek: undefined for an unknown segment or space",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.equal(await store.peek("s", "g"), undefined, "empty store");
        await produce(store, "s", "g", records(1, 1));
        assert.equal(await store.peek("s", "unknown"), undefined, "unknown segment");
        assert.equal(await store.peek("unknown", "g"), undefined, "unknown space");
      }),
  );

  define(
    ctx,
    "getSegmentStatus: undefined for an unknown segment or space",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.equal(await store.getSegmentStatus("s", "g"), undefined, "empty store");
        await produce(store, "s", "g", records(1, 1));
        assert.equal(await store.getSegmentStatus("s", "unknown"), undefined, "unknown segment");
        assert.equal(await store.getSegmentStatus("unknown", "g"), undefined, "unknown space");
      }),
  );

  define(
    ctx,
    "peek: the last entry after several chunks",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 3));
        assert.equal((await store.peek("s", "g"))?.sequence, 3);
        await produce(store, "s", "g", [
          { sequence: 4, payload: utf8("four") },
          { sequence: 5, payload: new Uint8Array([0, 255, 7]), metadata: { k: "v" } },
        ]);
        await produce(store, "s", "other", records(1, 9));
        const entries = await readSegment(store, "s", "g");
        const last = await store.peek("s", "g");
        assert.ok(last, "peek finds the entry");
        assert.deepEqual(plainEntry(last), plainEntry(entries.at(-1)!));
        assert.equal(last.sequence, 5);
        assert.deepEqual({ ...last.metadata }, { k: "v" });
      }),
  );

  define(
    ctx,
    "getSegmentStatus: first and last sequence and timestamp after several chunks",
    () =>
      withFreshStore(ctx, async (store) => {
        const [first] = await produce(store, "s", "g", records(1, 2));
        await tickPast(first.lastTimestamp);
        await produce(store, "s", "g", records(3, 2));
        await produce(store, "s", "other", records(1, 7));
        await produce(store, "s", "g", records(5, 1));
        const entries = await readSegment(store, "s", "g");
        const status = copyOfStatus(await store.getSegmentStatus("s", "g"));
        assert.deepEqual(status, expectedStatus(entries));
        assert.equal(status?.firstSequence, 1);
        assert.equal(status?.lastSequence, 5);
        assert.ok(status!.lastTimestamp > status!.firstTimestamp, "timestamps of different chunks");
        assert.equal((await store.getSegmentStatus("s", "other"))?.lastSequence, 7);
      }),
  );

  define(
    ctx,
    "getSpaces: each space once, in ascending UTF-8 byte order",
    () =>
      withFreshStore(ctx, async (store) => {
        const expected = byteSort(INVENTORY_NAMES);
        assert.notDeepEqual(
          expected,
          [...INVENTORY_NAMES].sort(),
          "fixture: byte order differs from JS sort",
        );
        for (const name of INVENTORY_NAMES) {
          await produce(store, name, "g1", records(1, 2));
          await produce(store, name, "g1", records(3, 1));
          await produce(store, name, "g2", records(1, 1));
        }
        assert.deepEqual(await collect(store.getSpaces()), expected);
      }),
  );

  define(
    ctx,
    "getSegments: each segment once, in ascending UTF-8 byte order",
    () =>
      withFreshStore(ctx, async (store) => {
        const expected = byteSort(INVENTORY_NAMES);
        for (const name of [...INVENTORY_NAMES].reverse()) {
          await produce(store, "s", name, records(1, 1));
          await produce(store, "s", name, records(2, 2));
        }
        await produce(store, "t", "only-in-t", records(1, 1));
        assert.deepEqual(await collect(store.getSegments("s")), expected);
        assert.deepEqual(await collect(store.getSegments("t")), ["only-in-t"]);
        assert.deepEqual(await collect(store.getSegments("unknown")), []);
      }),
  );

  define(
    ctx,
    "inventory: a space and segment appear when their first chunk commits, not before",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "old", "g", records(1, 1));
        const max = store.limits.maxChunkRecords;
        const pending = store.produce({ space: "fresh", segment: "g" }, records(1, max + 5));
        await sleep(10);
        assert.deepEqual(await collect(store.getSpaces()), ["old"], "not before iterating");
        assert.deepEqual(await collect(store.getSegments("fresh")), []);
        let chunks = 0;
        for await (const _status of pending) {
          if (chunks++ === 0) {
            assert.deepEqual(
              await collect(store.getSpaces()),
              ["fresh", "old"],
              "after the first chunk",
            );
            assert.deepEqual(await collect(store.getSegments("fresh")), ["g"]);
          }
        }
        assert.ok(chunks >= 2);
        assert.deepEqual(await collect(store.getSegments("fresh")), ["g"], "listed once");
      }),
  );

  define(
    ctx,
    "inventory: a failed produce creates no space or segment",
    () =>
      withFreshStore(ctx, async (store) => {
        await expectError(() => produce(store, "s1", "g", records(2, 1)), "SequenceMismatch");
        await expectError(
          () => produce(store, "s2", "g", [...records(1, 1), ...records(3, 1)]),
          "SequenceMismatch",
        );
        await expectError(
          () => produce(store, "s3", "g", [{ sequence: 0, payload: utf8("x") }]),
          "InvalidArgument",
        );
        const controller = new AbortController();
        controller.abort(new Error("stop"));
        await drain(
          store.produce({ space: "s4", segment: "g", signal: controller.signal }, records(1, 1)),
        )
          .catch(() => {});
        assert.deepEqual(await collect(store.getSpaces()), []);
        for (const space of ["s1", "s2", "s3", "s4"]) {
          assert.deepEqual(await collect(store.getSegments(space)), [], `segments of ${space}`);
        }
        await produce(store, "s0", "g", records(1, 1));
        await expectError(() => produce(store, "s0", "h", records(2, 1)), "SequenceMismatch");
        assert.deepEqual(await collect(store.getSpaces()), ["s0"]);
        assert.deepEqual(await collect(store.getSegments("s0")), ["g"]);
      }),
  );

  define(
    ctx,
    "inventory: an empty store lists nothing",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.deepEqual(await collect(store.getSpaces()), []);
        assert.deepEqual(await collect(store.getSegments("s")), []);
        await produce(store, "s", "g", []);
        assert.deepEqual(await collect(store.getSpaces()), []);
      }),
  );
}
