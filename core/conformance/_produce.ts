// Conformance: produce (laziness, sources, statuses, chunks, trx, timestamps).

import assert from "node:assert/strict";
import { collect, sleep } from "../_async.ts";
import type { Entry, ProduceRecord, SegmentStatus } from "../types.ts";
import { assertSegment, expectError } from "./_assertions.ts";
import { copyOfStatus, copyOfTrx, expectedStatus } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, range, records, utf8, UUID_V4, ZERO_UUID } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import { drain, produce, readSegment, readSpace } from "./_store_calls.ts";
import { tickPast } from "./_timing.ts";

/** Checks the chunks of a produce: statuses consistent with the stored entries and trx rules. */
function assertChunks(
  entries: readonly Entry[],
  statuses: readonly SegmentStatus[],
  maxChunkRecords: number,
  firstTrxNumber = 1,
  from = 0,
): void {
  let previous = from;
  const ids = new Set<string>();
  statuses.forEach((status, index) => {
    assert.ok(status.lastSequence > previous, `status ${index}: lastSequence must grow`);
    assert.ok(
      status.lastSequence - previous <= maxChunkRecords,
      `status ${index}: a chunk holds at most limits.maxChunkRecords (${maxChunkRecords}) records`,
    );
    const chunk = entries.slice(previous, status.lastSequence);
    const { trx, timestamp } = chunk[0];
    assert.match(trx.id, UUID_V4, `chunk ${index}: trx.id must be a UUID v4`);
    assert.equal(trx.number, firstTrxNumber + index, `chunk ${index}: trx.number`);
    assert.ok(!ids.has(trx.id), `chunk ${index}: trx.id must be fresh per chunk`);
    ids.add(trx.id);
    for (const entry of chunk) {
      assert.deepEqual(
        copyOfTrx(entry.trx),
        copyOfTrx(trx),
        `entry ${entry.sequence}: trx shared by the chunk`,
      );
      assert.equal(
        entry.timestamp,
        timestamp,
        `entry ${entry.sequence}: timestamp shared by the chunk`,
      );
    }
    assert.deepEqual(
      copyOfStatus(status),
      expectedStatus(entries, status.lastSequence),
      `status ${index} after its chunk`,
    );
    previous = status.lastSequence;
  });
}

export function registerProduce(ctx: Ctx): void {
  define(
    ctx,
    "produce: nothing is written until the result is iterated",
    () =>
      withFreshStore(ctx, async (store) => {
        const pending = store.produce({ space: "s", segment: "g" }, records(1, 3));
        await sleep(20);
        assert.equal(await store.getSegmentStatus("s", "g"), undefined, "status before iterating");
        assert.deepEqual(await readSegment(store, "s", "g"), [], "entries before iterating");
        assert.deepEqual(await collect(store.getSpaces()), [], "spaces before iterating");
        const statuses = await collect(pending);
        assert.equal(statuses.length, 1);
        assert.equal(statuses[0].lastSequence, 3);
        await assertSegment(store, "s", "g", [1, 2, 3]);
      }),
  );

  define(
    ctx,
    "produce: the records source is not read before iterating",
    () =>
      withFreshStore(ctx, async (store) => {
        let pulled = 0;
        function* source(): Generator<ProduceRecord> {
          for (const record of records(1, 2)) {
            pulled++;
            yield record;
          }
        }
        const pending = store.produce({ space: "s", segment: "g" }, source());
        await sleep(20);
        assert.equal(pulled, 0, "the source must not be pulled before the result is iterated");
        await drain(pending);
        assert.equal(pulled, 2);
        await assertSegment(store, "s", "g", [1, 2]);
      }),
  );

  define(
    ctx,
    "produce: no records writes nothing and yields nothing",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.deepEqual(await produce(store, "s", "g", []), [], "empty array");
        async function* none(): AsyncGenerator<ProduceRecord> {}
        assert.deepEqual(await produce(store, "s", "g", none()), [], "empty async iterable");
        function* noneSync(): Generator<ProduceRecord> {}
        assert.deepEqual(await produce(store, "s", "g", noneSync()), [], "empty generator");
        assert.equal(await store.getSegmentStatus("s", "g"), undefined);
        assert.deepEqual(await collect(store.getSpaces()), []);
        assert.deepEqual(await collect(store.getSegments("s")), []);
        // A later produce still starts at 1.
        await produce(store, "s", "g", records(1, 1));
        await assertSegment(store, "s", "g", [1]);
      }),
  );

  define(
    ctx,
    "produce: sync iterables (array, generator, bare iterator object)",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        function* generator(): Generator<ProduceRecord> {
          yield* records(3, 2);
        }
        await produce(store, "s", "g", generator());
        const list = records(5, 3);
        let index = 0;
        const bare: Iterable<ProduceRecord> = {
          [Symbol.iterator]: () => ({
            next: () =>
              index < list.length
                ? { done: false, value: list[index++] }
                : { done: true, value: undefined },
          }),
        };
        const statuses = await produce(store, "s", "g", bare);
        assert.equal(statuses.at(-1)?.lastSequence, 7);
        await assertSegment(store, "s", "g", range(1, 7));
      }),
  );

  define(
    ctx,
    "produce: async iterables (async generator, bare async iterator object)",
    () =>
      withFreshStore(ctx, async (store) => {
        async function* generator(): AsyncGenerator<ProduceRecord> {
          for (const record of records(1, 4)) {
            await sleep(1);
            yield record;
          }
        }
        const first = await produce(store, "s", "g", generator());
        assert.equal(first.at(-1)?.lastSequence, 4);
        const list = records(5, 3);
        let index = 0;
        const bare: AsyncIterable<ProduceRecord> = {
          [Symbol.asyncIterator]: () => ({
            next: () =>
              Promise.resolve(
                index < list.length
                  ? { done: false, value: list[index++] }
                  : { done: true, value: undefined },
              ),
          }),
        };
        const second = await produce(store, "s", "g", bare);
        assert.equal(second.at(-1)?.lastSequence, 7);
        await assertSegment(store, "s", "g", range(1, 7));
      }),
  );

  define(
    ctx,
    "produce: a chunk's status reports its first and last entry",
    () =>
      withFreshStore(ctx, async (store) => {
        const statuses = await produce(store, "s", "g", records(1, 3));
        assert.equal(statuses.length, 1, "three records are one chunk");
        const entries = await readSegment(store, "s", "g");
        const expected = expectedStatus(entries);
        assert.deepEqual(copyOfStatus(statuses[0]), expected);
        assert.deepEqual(copyOfStatus(await store.getSegmentStatus("s", "g")), expected);
        assert.equal(expected.firstSequence, 1);
        assert.equal(expected.lastSequence, 3);
      }),
  );

  define(
    ctx,
    "produce: first* of a status comes from the segment's first entry ever",
    () =>
      withFreshStore(ctx, async (store) => {
        const [first] = await produce(store, "s", "g", records(1, 2));
        await tickPast(first.lastTimestamp);
        const [second] = await produce(store, "s", "g", records(3, 2));
        await tickPast(second.lastTimestamp);
        const [third] = await produce(store, "s", "g", records(5, 1));
        const entries = await readSegment(store, "s", "g");
        assert.equal(second.firstSequence, 1);
        assert.equal(second.firstTimestamp, entries[0].timestamp);
        assert.equal(second.lastSequence, 4);
        assert.equal(second.lastTimestamp, entries[3].timestamp);
        assert.ok(second.lastTimestamp > second.firstTimestamp, "later chunk, later timestamp");
        assert.deepEqual(copyOfStatus(third), expectedStatus(entries));
        assert.equal(third.firstTimestamp, first.firstTimestamp);
      }),
  );

  define(
    ctx,
    "produce: more records than one chunk commit as several chunks",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const total = max + 5;
        const statuses = await produce(store, "s", "g", records(1, total));
        assert.ok(statuses.length >= 2, `expected at least 2 statuses, got ${statuses.length}`);
        assert.equal(statuses.at(-1)?.lastSequence, total);
        const entries = await assertSegment(store, "s", "g", range(1, total));
        assertChunks(entries, statuses, max);
        assert.deepEqual(
          copyOfStatus(await store.getSegmentStatus("s", "g")),
          expectedStatus(entries),
        );
        const space = await readSpace(store, "s");
        assert.equal(space.length, total, "every entry is in the space index too");
      }),
  );

  define(
    ctx,
    "produce: a chunk's entries share one trx (UUID v4) and one timestamp",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 4));
        await produce(store, "s", "g", records(5, 3));
        const entries = await readSegment(store, "s", "g");
        const a = entries.slice(0, 4);
        const b = entries.slice(4);
        for (const chunk of [a, b]) {
          assert.match(chunk[0].trx.id, UUID_V4);
          for (const entry of chunk) {
            assert.deepEqual(copyOfTrx(entry.trx), copyOfTrx(chunk[0].trx));
            assert.equal(entry.timestamp, chunk[0].timestamp);
          }
        }
        assert.notEqual(a[0].trx.id, b[0].trx.id, "each chunk gets a fresh trx id");
        const space = await readSpace(store, "s");
        assert.deepEqual(
          space.map((entry) => copyOfTrx(entry.trx)),
          entries.map((entry) => copyOfTrx(entry.trx)),
          "consumeSpace reports the same trx",
        );
      }),
  );

  define(
    ctx,
    "produce: trx.number counts chunks from 1, across produce calls",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const first = await produce(store, "s", "g", records(1, 2));
        const many = await produce(store, "s", "g", records(3, max + 3));
        const last = await produce(store, "s", "g", records(max + 6, 1));
        const entries = await readSegment(store, "s", "g");
        assertChunks(entries, [...first, ...many, ...last], max);
        assert.equal(entries[0].trx.number, 1);
        assert.equal(entries.at(-1)?.trx.number, first.length + many.length + last.length);
        // Another segment numbers its own chunks from 1.
        await produce(store, "s", "other", records(1, 1));
        const [other] = await readSegment(store, "s", "other");
        assert.equal(other.trx.number, 1);
      }),
  );

  define(
    ctx,
    "produce: trx.number continues without a gap after a failed produce",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        await expectError(() => produce(store, "s", "g", records(5, 2)), "SequenceMismatch");
        await expectError(
          () => produce(store, "s", "g", [...records(3, 1), ...records(5, 1)]),
          "SequenceMismatch",
        );
        await produce(store, "s", "g", records(3, 2));
        const entries = await readSegment(store, "s", "g");
        assert.deepEqual(entries.map((entry) => entry.trx.number), [1, 1, 2, 2]);
      }),
  );

  define(ctx, "produce: trx.node is the factory's nodeId", () => {
    const nodeId = newId();
    return withFreshStore(ctx, async (store) => {
      await produce(store, "s", "g", records(1, 2));
      for (const entry of await readSegment(store, "s", "g")) {
        assert.equal(entry.trx.node.toLowerCase(), nodeId, "consumeSegment trx.node");
      }
      for (const entry of await readSpace(store, "s")) {
        assert.equal(entry.trx.node.toLowerCase(), nodeId, "consumeSpace trx.node");
      }
      assert.equal((await store.peek("s", "g"))?.trx.node.toLowerCase(), nodeId, "peek trx.node");
    }, { nodeId });
  });

  define(
    ctx,
    "produce: trx.node is the all-zero UUID when the factory has no nodeId",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "g", records(1, 2));
        for (const entry of await readSegment(store, "s", "g")) {
          assert.equal(entry.trx.node, ZERO_UUID);
        }
        assert.equal((await store.peek("s", "g"))?.trx.node, ZERO_UUID);
      }),
  );

  define(
    ctx,
    "produce: timestamps are Unix milliseconds and never decrease in a segment",
    () =>
      withFreshStore(ctx, async (store) => {
        const before = Date.now();
        for (let round = 0; round < 5; round++) {
          await produce(store, "s", "g", records(round * 3 + 1, 3));
          await sleep(round % 2);
        }
        const after = Date.now();
        const entries = await readSegment(store, "s", "g");
        assert.equal(entries.length, 15);
        for (let i = 0; i < entries.length; i++) {
          const { timestamp } = entries[i];
          assert.ok(Number.isSafeInteger(timestamp), `timestamp ${timestamp} must be an integer`);
          assert.ok(
            timestamp >= before - 60_000 && timestamp <= after + 60_000,
            `timestamp ${timestamp} must be Unix ms near ${before}..${after}`,
          );
          if (i > 0) {
            assert.ok(timestamp >= entries[i - 1].timestamp, `timestamp of ${i + 1} decreased`);
          }
        }
      }),
  );

  define(
    ctx,
    "produce: each segment has its own sequence starting at 1",
    () =>
      withFreshStore(ctx, async (store) => {
        await produce(store, "s", "a", records(1, 3, "a"));
        await produce(store, "s", "b", records(1, 2, "b"));
        await produce(store, "t", "a", records(1, 1, "ta"));
        await produce(store, "s", "a", records(4, 1, "a"));
        await assertSegment(store, "s", "a", [1, 2, 3, 4], "a");
        await assertSegment(store, "s", "b", [1, 2], "b");
        await assertSegment(store, "t", "a", [1], "ta");
      }),
  );

  define(
    ctx,
    "produce: metadata round-trips and is {} when none was given",
    () =>
      withFreshStore(ctx, async (store) => {
        const metadata = {
          "content-type": "application/json",
          "": "empty key",
          "empty value": "",
          "unicode 🦀": "漢字 \u0001 / \\ # ? %",
        };
        await produce(store, "s", "g", [
          { sequence: 1, payload: utf8("a"), metadata },
          { sequence: 2, payload: utf8("b") },
          { sequence: 3, payload: utf8("c"), metadata: {} },
        ]);
        const entries = await readSegment(store, "s", "g");
        assert.deepEqual({ ...entries[0].metadata }, metadata);
        assert.deepEqual({ ...entries[1].metadata }, {});
        assert.deepEqual({ ...entries[2].metadata }, {});
        assert.equal(typeof entries[1].metadata, "object");
        assert.notEqual(entries[1].metadata, null);
        const space = await readSpace(store, "s");
        assert.deepEqual(space.map((entry) => ({ ...entry.metadata })), [metadata, {}, {}]);
        assert.deepEqual({ ...(await store.peek("s", "g"))?.metadata }, {});
      }),
  );
}
