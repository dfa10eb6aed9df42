// The shards of a space index, read as one timeline: each shard's rows come in row key order,
// and a space row key is the hex of the offset's tail, so the smallest key next is the next entry.

import type { Row } from "./_entities.ts";

/**
 * The rows of `sources` (each in ascending row key order) in ascending row key order. Every
 * source is asked for its first row at once, so their first pages travel together.
 */
export async function* mergeByRowKey(sources: AsyncIterable<Row>[]): AsyncIterable<Row> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  try {
    const heads = await Promise.all(iterators.map((iterator) => iterator.next()));
    for (;;) {
      let next = -1;
      for (let i = 0; i < heads.length; i++) {
        if (heads[i].done) continue;
        if (next < 0 || heads[i].value.rowKey < heads[next].value.rowKey) next = i;
      }
      if (next < 0) return;
      yield heads[next].value;
      heads[next] = await iterators[next].next();
    }
  } finally {
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
