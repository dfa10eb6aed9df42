// The shards of a space index, read as one timeline: each shard's rows come in row key order,
// and a space row key is the hex of the offset's tail, so the smallest key next is the next entry.

import type { Row } from "./_entities.ts";

/**
 * The rows of `sources` (pages, each source in ascending row key order) as pages in ascending row
 * key order. Every source is asked for its first page at once, so they travel together; a merged
 * page ends where a source's page runs out, so no row is passed before that source's next one is
 * known.
 */
export async function* mergeByRowKey(sources: AsyncIterable<Row[]>[]): AsyncIterable<Row[]> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pages: (Row[] | undefined)[] = [];
  const at: number[] = sources.map(() => 0);
  const refill = async (i: number) => {
    const next = await iterators[i].next();
    pages[i] = next.done ? undefined : next.value;
    at[i] = 0;
  };
  try {
    await Promise.all(iterators.map((_, i) => refill(i)));
    for (;;) {
      const merged: Row[] = [];
      let exhausted = -1;
      while (exhausted < 0) {
        let next = -1;
        for (let i = 0; i < pages.length; i++) {
          const page = pages[i];
          if (page === undefined) continue;
          if (next < 0 || page[at[i]].rowKey < pages[next]![at[next]].rowKey) next = i;
        }
        if (next < 0) break;
        merged.push(pages[next]![at[next]++]);
        if (at[next] === pages[next]!.length) exhausted = next;
      }
      if (merged.length > 0) yield merged;
      if (exhausted < 0) return;
      await refill(exhausted);
    }
  } finally {
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
