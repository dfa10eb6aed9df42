// Conformance: restore writes entries exactly as given (a round trip, trx grouping, continuing
// a segment and its trx numbers, no entries, odd and prefix names).

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry } from "../types.ts";
import { assertEmptySegment, assertSameItems, assertSegment } from "./_assertions.ts";
import { copyOfStatus, hex, plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, records, utf8, ZERO_UUID } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
import { byteSort } from "./_order.ts";
import {
  anHourAgo,
  assertRestored,
  assertStatuses,
  chunkEnds,
  restore,
  trxEntries,
  V1_TRX_ID,
} from "./_restore_fixtures.ts";
import { produce, readSegment, readSpace } from "./_store_calls.ts";

export function registerRestoreBasics(ctx: Ctx): void {
  define(
    ctx,
    "restore: a round trip through consumeSegment keeps every field, both indexes, status and peek",
    () => {
      const sourceNode = newId();
      return withFactory(ctx, (sourceFactory) =>
        withFactory(ctx, async (targetFactory) => {
          const source = await sourceFactory.newStore(newId());
          const target = await targetFactory.newStore(newId());
          try {
            const max = source.limits.maxChunkRecords;
            await produce(source, "s", "g", [
              { sequence: 1, payload: utf8("a"), metadata: { "content-type": "text/plain" } },
              {
                sequence: 2,
                payload: new Uint8Array(0),
                metadata: { "unicode 🦀": "漢字 \u0001" },
              },
            ]);
            await produce(source, "s", "h", [
              { sequence: 1, payload: Uint8Array.from({ length: 256 }, (_, i) => i) },
            ]);
            await produce(source, "s", "g", records(3, max + 3)); // several chunks
            await produce(source, "t", "g", records(1, 2, "t"));
            await produce(source, "s", "h", records(2, 1, "h"));

            const spaces = await collect(source.getSpaces());
            for (const space of spaces) {
              for (const segment of await collect(source.getSegments(space))) {
                const entries = await readSegment(source, space, segment);
                const statuses = await restore(
                  target,
                  space,
                  segment,
                  source.consumeSegment({ space, segment }),
                );
                // One chunk per source chunk: each fits the same limit, and is one trx.
                const ends = entries.flatMap((entry, i) =>
                  entry.trx.id === entries[i + 1]?.trx.id ? [] : [entry.sequence]
                );
                assertStatuses(statuses, entries, ends);
                await assertRestored(target, space, segment, entries);
                assert.deepEqual(
                  copyOfStatus(await target.getSegmentStatus(space, segment)),
                  copyOfStatus(await source.getSegmentStatus(space, segment)),
                  "getSegmentStatus identical",
                );
                assert.deepEqual(
                  plainEntry((await target.peek(space, segment))!),
                  plainEntry((await source.peek(space, segment))!),
                  "peek identical",
                );
              }
              assert.deepEqual(
                await collect(target.getSegments(space)),
                await collect(source.getSegments(space)),
                `segments of ${space}`,
              );
              const sourceSpace = await readSpace(source, space);
              const targetSpace = await readSpace(target, space);
              assertSameItems(
                targetSpace.map(plainEntry),
                sourceSpace.map(plainEntry),
                "consumeSpace",
              );
              assertSameItems(
                targetSpace.map((entry) => hex(spaceOffset(entry))),
                sourceSpace.map((entry) => hex(spaceOffset(entry))),
                "space offsets",
              );
              // The space index holds the same keys: resuming mid-way reads the same tail.
              const middle = spaceOffset(sourceSpace[Math.floor(sourceSpace.length / 2)]);
              assertSameItems(
                (await readSpace(target, space, { offset: middle })).map(plainEntry),
                (await readSpace(source, space, { offset: middle })).map(plainEntry),
                "consumeSpace resumed from a source offset",
              );
            }
            assert.deepEqual(await collect(target.getSpaces()), spaces, "spaces");
            for (const entry of await readSpace(target, "s")) {
              assert.equal(entry.trx.node, sourceNode, "the source's node, not the target's");
            }
          } finally {
            await target.close();
            await source.close();
          }
        }, { nodeId: newId() }), { nodeId: sourceNode });
    },
  );

  define(
    ctx,
    "restore: each trx commits as one chunk, exactly as given, and produce continues after it",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        const entries = [
          ...trxEntries("s", "g", 1, 3, { timestamp: t, number: 1, id: V1_TRX_ID }),
          // Same millisecond, next trx; numbers need not be consecutive.
          ...trxEntries("s", "g", 4, 2, { timestamp: t, number: 2, node: ZERO_UUID }),
          ...trxEntries("s", "g", 6, 1, { timestamp: t + 5, number: 7 }),
        ];
        entries[1].metadata = { "content-type": "text/plain", "": "", "🦀": "\u0001 / \\ # ? %" };
        entries[3].payload = new Uint8Array(0);
        entries[4].payload = new Uint8Array(new ArrayBuffer(16), 4, 8).fill(0xff);
        const statuses = await restore(store, "s", "g", entries);
        assertStatuses(statuses, entries, chunkEnds([3, 2, 1], max));
        await assertRestored(store, "s", "g", entries);
        assert.deepEqual(
          (await readSpace(store, "s")).map(plainEntry),
          entries.map(plainEntry),
          "space",
        );
        assert.deepEqual(await collect(store.getSpaces()), ["s"]);
        assert.deepEqual(await collect(store.getSegments("s")), ["g"]);

        await produce(store, "s", "g", records(7, 1));
        const produced = (await store.peek("s", "g"))!;
        assert.equal(produced.trx.number, 8, "produce numbers its chunk after the restored one");
        assert.ok(produced.timestamp >= t + 5, "produce never stamps below the restored head");
        assert.equal((await store.getSegmentStatus("s", "g"))?.firstTimestamp, t);
      }),
  );

  define(
    ctx,
    "restore: continues a segment that already has entries",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        await produce(store, "s", "g", records(1, 3));
        const head = (await store.peek("s", "g"))!;
        // The head's own millisecond and trx number + 1, then a jump in trx numbers.
        const restored = [
          ...trxEntries("s", "g", 4, 2, { timestamp: head.timestamp, number: head.trx.number + 1 }),
          ...trxEntries("s", "g", 6, 1, { timestamp: head.timestamp, number: head.trx.number + 4 }),
        ];
        const statuses = await restore(store, "s", "g", restored);
        const segment = [...(await readSegment(store, "s", "g", { maxSequence: 3 })), ...restored];
        assertStatuses(statuses, segment, chunkEnds([2, 1], max, 3));
        await assertRestored(store, "s", "g", segment);
        assert.equal((await readSpace(store, "s")).length, 6, "the space index holds all six");
        await produce(store, "s", "g", records(7, 1));
        const produced = (await store.peek("s", "g"))!;
        assert.equal(produced.trx.number, head.trx.number + 5, "produce continues trx numbers");
        await assertRestored(store, "s", "g", [...segment, produced]);
      }),
  );

  define(
    ctx,
    "restore: no entries writes nothing and yields nothing",
    () =>
      withFreshStore(ctx, async (store) => {
        assert.deepEqual(await restore(store, "s", "g", []), [], "empty array");
        async function* none(): AsyncGenerator<Entry> {}
        assert.deepEqual(await restore(store, "s", "g", none()), [], "empty async iterable");
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), []);
        await produce(store, "s", "g", records(1, 1));
        await assertSegment(store, "s", "g", [1]);
      }),
  );

  define(
    ctx,
    "restore: odd names (emoji, control characters, U+FEFF) and prefix-named a/ab stay apart",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const odd = ["🦀🎉", "\u0001\u001f\u007f", "\uFEFF", "\uFEFFbom", "tab\there\nnew"];
        for (const name of odd) {
          const entries = trxEntries(name, name, 1, 2, { timestamp: t, number: 1 }, name);
          const [status] = await restore(store, name, name, entries);
          assert.equal(status.space, name, "status space");
          assert.equal(status.segment, name, "status segment");
          await assertRestored(store, name, name, entries);
          assert.deepEqual((await readSpace(store, name)).map(plainEntry), entries.map(plainEntry));
        }
        const prefixed: Record<string, Entry[]> = {};
        for (const space of ["a", "ab"]) {
          for (const segment of ["a", "ab"]) {
            const entries = trxEntries(
              space,
              segment,
              1,
              2,
              { timestamp: t, number: 1 },
              `${space}/${segment}`,
            );
            await restore(store, space, segment, entries);
            prefixed[`${space}/${segment}`] = entries;
          }
        }
        for (const [key, entries] of Object.entries(prefixed)) {
          const [space, segment] = key.split("/");
          await assertRestored(store, space, segment, entries);
        }
        for (const space of ["a", "ab"]) {
          assert.deepEqual(await collect(store.getSegments(space)), ["a", "ab"]);
          // One millisecond: ordered by segment bytes, "a" before "ab".
          assert.deepEqual(
            (await readSpace(store, space)).map(plainEntry),
            [...prefixed[`${space}/a`], ...prefixed[`${space}/ab`]].map(plainEntry),
            `consumeSpace ${space}`,
          );
        }
        assert.deepEqual(await collect(store.getSpaces()), byteSort([...odd, "a", "ab"]));
      }),
  );
}
