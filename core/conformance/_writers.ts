// Background producers that keep writing while a case reads.

import { sleep } from "../_async.ts";
import type { Store } from "../types.ts";
import { range, records } from "./_fixtures.ts";
import { produce } from "./_store_calls.ts";

/** Producers started by {@linkcode startWriters}. */
export interface Writers {
  /** How many entries they write in all. */
  total: number;
  /** Resolves when every one of them is done; rejects with the first failure. */
  done: Promise<void>;
}

/**
 * Starts one producer per segment of each space, each writing `chunks` chunks of 1 to
 * `maxBatch` records (sizes drawn up front, so the total is known at once) with short random
 * pauses between them.
 */
export function startWriters(
  store: Store,
  spaces: readonly string[],
  segments: readonly string[],
  chunks: number,
  maxBatch: number,
): Writers {
  const batch = Math.max(1, Math.min(maxBatch, store.limits.maxChunkRecords));
  const plans = spaces.flatMap((space) =>
    segments.map((segment) => ({
      space,
      segment,
      counts: range(1, chunks).map(() => 1 + Math.floor(Math.random() * batch)),
    }))
  );
  const total = plans.reduce((sum, plan) => sum + plan.counts.reduce((a, b) => a + b, 0), 0);
  const done = Promise.all(plans.map(async ({ space, segment, counts }) => {
    let next = 1;
    for (const count of counts) {
      await produce(store, space, segment, records(next, count, segment));
      next += count;
      await sleep(Math.floor(Math.random() * 3));
    }
  })).then(() => {});
  // Callers await it alongside a follower: a failure must not count as unhandled meanwhile.
  done.catch(() => {});
  return { total, done };
}
