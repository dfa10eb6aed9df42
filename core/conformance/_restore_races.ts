// Conformance: restores and produces racing for the same sequences, on one instance and (with
// supports.multiInstance) on two.

import assert from "node:assert/strict";
import type { Entry, Store } from "../types.ts";
import { plainEntry } from "./_comparable.ts";
import { type Ctx, define } from "./_context.ts";
import { withFreshStore, withTwoInstances } from "./_instances.ts";
import { producer, race, type Racer } from "./_race.ts";
import { anHourAgo, restore, trxEntries } from "./_restore_fixtures.ts";
import { readSpace } from "./_store_calls.ts";

/** A racer restoring `entries` (hand-built, all of one segment). */
function restorer(name: string, entries: readonly Entry[]): Racer {
  const { space, segment } = entries[0];
  return {
    name,
    write: (store) => restore(store, space, segment, entries),
    assertWrote: (stored, what) =>
      assert.deepEqual(
        stored.map(plainEntry),
        entries.map(plainEntry),
        `${what}: only the restore's entries`,
      ),
  };
}

/**
 * Races a produce and two restores (through `handles` in turn) for `count` sequences from
 * `from` of one segment; see {@linkcode race}.
 */
async function raceProduceAndRestores(
  handles: readonly Store[],
  space: string,
  segment: string,
  from: number,
  count: number,
): Promise<void> {
  const head = await handles[0].peek(space, segment);
  // Valid continuations of the head, so only the race decides.
  const spec = { timestamp: head?.timestamp ?? anHourAgo(), number: (head?.trx.number ?? 0) + 1 };
  await race(handles, space, segment, from, count, [
    producer("produce", space, segment, from, count),
    ...["restore0", "restore1"].map((name) =>
      restorer(name, trxEntries(space, segment, from, count, spec, name))
    ),
  ]);
}

export function registerRestoreRaces(ctx: Ctx): void {
  define(
    ctx,
    "restore: racing a produce and another restore for the same sequences, exactly one wins",
    () =>
      withFreshStore(ctx, async (store) => {
        for (let round = 0; round < 4; round++) {
          await raceProduceAndRestores([store], "s", "g", round * 5 + 1, 5);
        }
        assert.equal((await readSpace(store, "s")).length, 20, "only the winners' entries");
        assert.equal((await store.getSegmentStatus("s", "g"))?.lastSequence, 20);
      }),
  );

  if (ctx.supports.multiInstance) {
    define(
      ctx,
      "multi-instance: a restore on one instance racing a produce on the other, exactly one wins",
      () =>
        withTwoInstances(ctx, async (a, b) => {
          for (let round = 0; round < 3; round++) {
            // The produce runs on the first handle, the restores on both.
            const handles = round % 2 === 0 ? [a, b] : [b, a];
            await raceProduceAndRestores(handles, "s", "g", round * 4 + 1, 4);
          }
          assert.deepEqual(
            (await readSpace(a, "s")).map(plainEntry),
            (await readSpace(b, "s")).map(plainEntry),
            "both instances read the same entries",
          );
          assert.equal((await b.getSegmentStatus("s", "g"))?.lastSequence, 12);
        }),
    );
  }
}
