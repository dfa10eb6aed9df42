/**
 * The merge of several spaces' timelines into one. Each space's entries arrive in space-offset
 * order (timestamp, segment, sequence); across spaces they are ordered by timestamp, then by
 * space (UTF-8 bytes), so only a space's rank is ever compared, never a name.
 *
 * @module
 */

import type { Entry } from "../types.ts";

interface Head {
  /** The space's place in UTF-8 byte order among the merged spaces. */
  rank: number;
  entries: AsyncIterator<Entry>;
  next: Entry;
}

function before(a: Head, b: Head): boolean {
  return a.next.timestamp < b.next.timestamp ||
    (a.next.timestamp === b.next.timestamp && a.rank < b.rank);
}

/**
 * The entries of `timelines` (one per space, given in UTF-8 byte order of their spaces),
 * merged. Holds one entry per space; every timeline is closed however the caller stops.
 */
export async function* mergeTimelines(
  timelines: readonly AsyncIterable<Entry>[],
): AsyncIterable<Entry> {
  const iterators = timelines.map((timeline) => timeline[Symbol.asyncIterator]());
  try {
    const heads: Head[] = [];
    await Promise.all(iterators.map(async (entries, rank) => {
      const first = await entries.next();
      if (!first.done) heads.push({ rank, entries, next: first.value });
    }));
    while (heads.length > 0) {
      let lowest = 0;
      for (let i = 1; i < heads.length; i++) {
        if (before(heads[i], heads[lowest])) lowest = i;
      }
      const head = heads[lowest];
      yield head.next;
      const following = await head.entries.next();
      if (following.done) heads.splice(lowest, 1);
      else head.next = following.value;
    }
  } finally {
    await Promise.allSettled(iterators.map((entries) => entries.return?.()));
  }
}
