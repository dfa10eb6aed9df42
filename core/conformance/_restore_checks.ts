// Conformance: restore checks the entries against the head and each other (sequences, space and
// segment, timestamps, trx numbers, the fields one trx shares).

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import { assertEmptySegment, assertMismatch, assertSegment } from "./_assertions.ts";
import { plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { records } from "./_fixtures.ts";
import { withFreshStore } from "./_instances.ts";
import {
  anHourAgo,
  assertRestored,
  assertStatuses,
  chunkEnds,
  restore,
  restoreFailing,
  trxChanges,
  trxEntries,
} from "./_restore_fixtures.ts";
import { produce, readSpace } from "./_store_calls.ts";

export function registerRestoreChecks(ctx: Ctx): void {
  define(
    ctx,
    "restore: sequences must continue the head (a new segment at 1, then last + 1)",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const ahead = trxEntries("s", "g", 2, 2, { timestamp: t, number: 1 });
        const { error } = await restoreFailing(store, "s", "g", ahead, "SequenceMismatch");
        assertMismatch(error, 1, 2);
        await assertEmptySegment(store, "s", "g");
        assert.deepEqual(await collect(store.getSpaces()), [], "no space appears");

        const first = trxEntries("s", "g", 1, 3, { timestamp: t, number: 1 });
        await restore(store, "s", "g", first);
        for (const [label, from] of [["gap", 5], ["overlap", 3], ["from the start", 1]] as const) {
          const next = trxEntries("s", "g", from, 2, { timestamp: t, number: 2 }, label);
          const failed = await restoreFailing(store, "s", "g", next, "SequenceMismatch");
          assertMismatch(failed.error, 4, from);
          assert.deepEqual(failed.statuses, [], `${label}: nothing committed`);
          await assertRestored(store, "s", "g", first);
        }
      }),
  );

  define(
    ctx,
    "restore: a gap or repeat inside the entries fails its chunk; earlier chunks stay",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        const committed = [
          ...trxEntries("s", "g", 1, 2, { timestamp: t, number: 1 }),
          ...trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 }),
        ];
        const gapped = trxEntries("s", "g", 6, 2, { timestamp: t, number: 3 });
        const { statuses, error } = await restoreFailing(
          store,
          "s",
          "g",
          [...committed, ...gapped],
          "SequenceMismatch",
        );
        assertMismatch(error, 5, 6);
        assertStatuses(statuses, committed, chunkEnds([2, 2], max));
        await assertRestored(store, "s", "g", committed);

        // Within one trx: the whole trx fails.
        const spec = { timestamp: t, number: 3, id: crypto.randomUUID() };
        const cases = [
          ["a gap", [...trxEntries("s", "g", 5, 2, spec), ...trxEntries("s", "g", 8, 1, spec)], 8],
          [
            "a repeat",
            [...trxEntries("s", "g", 5, 2, spec), ...trxEntries("s", "g", 6, 1, spec)],
            6,
          ],
        ] as const;
        for (const [label, entries, actual] of cases) {
          const failed = await restoreFailing(store, "s", "g", entries, "SequenceMismatch");
          assertMismatch(failed.error, 7, actual);
          assert.deepEqual(failed.statuses, [], `${label}: nothing of the trx committed`);
          await assertRestored(store, "s", "g", committed);
        }
        assert.equal((await readSpace(store, "s")).length, 4, "the space index agrees");
        const rest = trxEntries("s", "g", 5, 2, spec);
        await restore(store, "s", "g", rest);
        await assertRestored(store, "s", "g", [...committed, ...rest]);
      }),
  );

  define(
    ctx,
    "restore: every entry must name the restore's space and segment (prefix names too)",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const otherSpace = trxEntries("ab", "a", 1, 2, { timestamp: t, number: 1 });
        await restoreFailing(store, "a", "a", otherSpace, "InvalidArgument", "entries[0].space");
        const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
        const longerSegment = [
          ...trxEntries("a", "a", 1, 2, spec),
          ...trxEntries("a", "ab", 3, 1, spec),
        ];
        await restoreFailing(
          store,
          "a",
          "a",
          longerSegment,
          "InvalidArgument",
          "entries[2].segment",
        );
        const shorterSegment = trxEntries("a", "a", 1, 1, spec);
        await restoreFailing(
          store,
          "a",
          "ab",
          shorterSegment,
          "InvalidArgument",
          "entries[0].segment",
        );
        await assertEmptySegment(store, "a", "a");
        await assertEmptySegment(store, "a", "ab");
        assert.deepEqual(await collect(store.getSpaces()), [], "nothing was written");

        const good = trxEntries("a", "a", 1, 2, { timestamp: t, number: 1 });
        const stray = trxEntries("a", "b", 3, 1, { timestamp: t, number: 2 });
        const { statuses } = await restoreFailing(
          store,
          "a",
          "a",
          [...good, ...stray],
          "InvalidArgument",
          "entries[2].segment",
        );
        assertStatuses(statuses, good, [2]);
        await assertRestored(store, "a", "a", good);
        assert.deepEqual(await collect(store.getSpaces()), ["a"]);
        assert.deepEqual(await collect(store.getSegments("a")), ["a"]);
      }),
  );

  define(
    ctx,
    "restore: timestamps never go back, within the entries or below the head",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const later = trxEntries("s", "g", 1, 2, { timestamp: t + 10, number: 1 });
        const earlier = trxEntries("s", "g", 3, 2, { timestamp: t, number: 2 });
        const { statuses } = await restoreFailing(
          store,
          "s",
          "g",
          [...later, ...earlier],
          "InvalidArgument",
          "timestamp",
        );
        assertStatuses(statuses, later, [2]);
        await assertRestored(store, "s", "g", later);

        await produce(store, "s", "p", records(1, 2));
        const head = (await store.peek("s", "p"))!;
        const below = trxEntries("s", "p", 3, 1, {
          timestamp: head.timestamp - 1,
          number: head.trx.number + 1,
        });
        await restoreFailing(store, "s", "p", below, "InvalidArgument", "timestamp");
        await assertSegment(store, "s", "p", [1, 2]);
        const same = trxEntries("s", "p", 3, 1, {
          timestamp: head.timestamp,
          number: head.trx.number + 1,
        });
        await restore(store, "s", "p", same);
        assert.deepEqual(
          plainEntry((await store.peek("s", "p"))!),
          plainEntry(same[0]),
          "the head's ms",
        );
      }),
  );

  define(
    ctx,
    "restore: trx numbers never go back, within the entries or below the head",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        const higher = trxEntries("s", "g", 1, 2, { timestamp: t, number: 5 });
        const lower = trxEntries("s", "g", 3, 1, { timestamp: t, number: 4 });
        const { statuses } = await restoreFailing(
          store,
          "s",
          "g",
          [...higher, ...lower],
          "InvalidArgument",
          "trx number",
        );
        assertStatuses(statuses, higher, [2]);
        await assertRestored(store, "s", "g", higher);

        await produce(store, "s", "p", records(1, 1));
        await produce(store, "s", "p", records(2, 1));
        const head = (await store.peek("s", "p"))!;
        assert.equal(head.trx.number, 2);
        const below = trxEntries("s", "p", 3, 1, { timestamp: head.timestamp, number: 1 });
        await restoreFailing(store, "s", "p", below, "InvalidArgument", "trx number");
        await assertSegment(store, "s", "p", [1, 2]);
      }),
  );

  define(
    ctx,
    "restore: entries of one trx must share timestamp, node and number",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        for (const [label, change] of trxChanges(t)) {
          const segment = `differs in ${label}`;
          const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
          const before = trxEntries("s", segment, 1, 2, { timestamp: t, number: 1 });
          const odd = [
            ...trxEntries("s", segment, 3, 2, spec),
            ...trxEntries("s", segment, 5, 1, { ...spec, ...change }),
          ];
          const { statuses } = await restoreFailing(
            store,
            "s",
            segment,
            [...before, ...odd],
            "InvalidArgument",
          );
          assertStatuses(statuses, before, [2]);
          await assertRestored(store, "s", segment, before);
        }
      }),
  );
}
