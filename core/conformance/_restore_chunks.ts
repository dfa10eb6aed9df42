// Conformance: restore cuts a trx too large for one chunk, by records or by bytes, and every
// chunk keeps the trx.

import assert from "node:assert/strict";
import type { Entry } from "../types.ts";
import { assertBytes, assertSameItems } from "./_assertions.ts";
import { plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { newId, records } from "./_fixtures.ts";
import { withFactory, withFreshStore } from "./_instances.ts";
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
import { produce, readSegment, readSpace } from "./_store_calls.ts";

export function registerRestoreChunks(ctx: Ctx): void {
  define(
    ctx,
    "restore: a trx larger than limits.maxChunkRecords commits in several chunks, keeping its trx",
    () =>
      withFactory(ctx, async (factory) => {
        const store = await factory.newStore(newId());
        const copy = await factory.newStore(newId());
        try {
          const max = store.limits.maxChunkRecords;
          const t = anHourAgo();
          const large = trxEntries("s", "g", 1, max + 5, { timestamp: t, number: 3 });
          const small = trxEntries("s", "g", max + 6, 2, { timestamp: t + 1, number: 4 });
          const entries = [...large, ...small];
          const statuses = await restore(store, "s", "g", entries);
          assertStatuses(statuses, entries, chunkEnds([max + 5, 2], max));
          await assertRestored(store, "s", "g", entries);
          assert.equal((await readSpace(store, "s")).length, entries.length, "space index");
          await produce(store, "s", "g", records(max + 8, 1));
          const produced = (await store.peek("s", "g"))!;
          assert.equal(produced.trx.number, 5, "produce continues after the last trx");

          // Read back, the large trx spans several stored chunks: it restores the same way.
          const segment = [...entries, produced];
          const copied = await restore(
            copy,
            "s",
            "g",
            store.consumeSegment({ space: "s", segment: "g" }),
          );
          assertStatuses(copied, segment, chunkEnds([max + 5, 2, 1], max));
          await assertRestored(copy, "s", "g", segment);
        } finally {
          await copy.close();
          await store.close();
        }
      }),
  );

  define(
    ctx,
    "restore: every chunk of a split trx keeps the trx's timestamp, node and number",
    () =>
      withFreshStore(ctx, async (store) => {
        const max = store.limits.maxChunkRecords;
        const t = anHourAgo();
        for (const [label, change] of trxChanges(t)) {
          const segment = `split, differs in ${label}`;
          const spec = { timestamp: t, number: 1, id: crypto.randomUUID() };
          // Past the first chunk, every entry differs alike: no one chunk holds both kinds.
          const first = trxEntries("s", segment, 1, max, spec);
          const rest = trxEntries("s", segment, max + 1, 2, { ...spec, ...change });
          const { statuses } = await restoreFailing(
            store,
            "s",
            segment,
            [...first, ...rest],
            "InvalidArgument",
          );
          const stored = await readSegment(store, "s", segment);
          assert.ok(stored.length <= max, `${label}: nothing past the first chunk is written`);
          assertSameItems(
            stored.map(plainEntry),
            first.slice(0, stored.length).map(plainEntry),
            label,
          );
          assert.equal(statuses.at(-1)?.lastSequence ?? 0, stored.length, "yielded = stored");
        }
      }),
  );

  define(
    ctx,
    "restore: a trx of more bytes than one chunk carries lands whole, keeping its trx",
    () =>
      withFreshStore(ctx, async (store) => {
        const t = anHourAgo();
        // Six payloads at the limit: more than memory, level or azure commit in one chunk, so
        // the trx is cut by bytes, not by records.
        const entries = trxEntries("s", "g", 1, 6, { timestamp: t, number: 1 });
        entries.forEach((entry, i) => {
          entry.payload = new Uint8Array(store.limits.maxPayloadBytes).fill(i + 1);
        });
        const statuses = await restore(store, "s", "g", entries);
        const ends = statuses.map((status) => status.lastSequence);
        assert.ok(ends.every((end, i) => end > (ends[i - 1] ?? 0)), `chunk ends ${ends}`);
        assert.equal(ends.at(-1), entries.length, "every entry committed");
        assertStatuses(statuses, entries, ends);
        // Compared without their payloads, and those byte by byte: hex of megabytes is slow.
        const withoutPayload = (entry: Entry) =>
          plainEntry({ ...entry, payload: new Uint8Array(0) });
        const stored = await readSegment(store, "s", "g");
        assert.deepEqual(stored.map(withoutPayload), entries.map(withoutPayload));
        stored.forEach((entry, i) => assertBytes(entry.payload, entries[i].payload, `#${i + 1}`));
      }),
  );
}
