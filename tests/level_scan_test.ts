// The level backend's hand-written, double-buffered scan iterator: pages cut by count and by
// bytes, overlapping next() calls, early return while a page is prefetched, the chunk writes
// with reused key and value buffers.

import assert from "node:assert/strict";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { type Entry, type Trx } from "../core/mod.ts";
import { prefixEnd, spaceIndexPrefix } from "../core/driver.ts";
import { collect } from "../core/_test_util.ts";
import { LevelBackend, type LevelDatabase } from "../drivers/level/_test_support.ts";

const LIMITS = { maxPayloadBytes: 1 << 24, maxChunkRecords: 10_000, maxChunkBytes: 1 << 26 };
const NODE = "00000000-0000-0000-0000-000000000000";

async function withBackend(body: (backend: LevelBackend) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "streamkit-level-scan-" });
  const db: LevelDatabase = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, "db"), {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  const backend = new LevelBackend(db, LIMITS);
  try {
    await body(backend);
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Commits `count` entries to `segment` as one chunk; payload sizes vary by `size(i)`. */
async function commit(
  backend: LevelBackend,
  segment: string,
  count: number,
  size: (i: number) => number,
): Promise<Entry[]> {
  const trx: Trx = { id: crypto.randomUUID(), node: NODE, number: 1 };
  const timestamp = 1_700_000_000_000;
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    space: "space",
    segment,
    sequence: i + 1,
    timestamp,
    trx,
    payload: new Uint8Array(size(i)).fill(i & 0xff),
    metadata: (i % 3 === 0 ? { index: String(i) } : {}) as Record<string, string>,
  }));
  await backend.commit({
    space: "space",
    segment,
    head: undefined,
    trx,
    timestamp,
    entries,
    status: {
      space: "space",
      segment,
      firstSequence: 1,
      firstTimestamp: timestamp,
      lastSequence: count,
      lastTimestamp: timestamp,
    },
  });
  return entries;
}

Deno.test("level scan: every entry once, in order, across pages cut by count and by bytes", async () => {
  await withBackend(async (backend) => {
    // 2,500 small entries: pages of 1,000. 40 entries of 100 KiB: pages cut at about 1 MiB.
    const small = await commit(backend, "small", 2_500, (i) => i % 7);
    const large = await commit(backend, "large", 40, () => 100 * 1024);
    for (const [segment, written] of [["small", small], ["large", large]] as const) {
      const range = { minSequence: 1, maxSequence: Number.MAX_SAFE_INTEGER, limit: 0 };
      const read = await collect(backend.scanSegment("space", segment, range));
      assert.deepStrictEqual(read, written);
    }
    const prefix = spaceIndexPrefix("space");
    const space = await collect(
      backend.scanSpace("space", { gt: prefix, lt: prefixEnd(prefix), limit: 0 }),
    );
    assert.equal(space.length, small.length + large.length);
  });
});

Deno.test("level scan: overlapping next() calls are answered in order, then done", async () => {
  await withBackend(async (backend) => {
    const written = await commit(backend, "g", 2_500, () => 1);
    for (
      const range of [
        { minSequence: 1, maxSequence: 2_500, limit: 0 },
        { minSequence: 10, maxSequence: 2_000, limit: 1_234 },
      ]
    ) {
      const iterator = backend.scanSegment("space", "g", range)[Symbol.asyncIterator]();
      const results = await Promise.all(Array.from({ length: 2_505 }, () => iterator.next()));
      const sequences = results.filter((result) => !result.done).map((result) =>
        (result.value as Entry).sequence
      );
      const expected = written.map((entry) => entry.sequence)
        .filter((sequence) => sequence >= range.minSequence && sequence <= range.maxSequence)
        .slice(0, range.limit || undefined);
      assert.deepEqual(sequences, expected);
      assert.ok(results.slice(sequences.length).every((result) => result.done));
    }
  });
});

Deno.test("level scan: stopping early, even with a page in flight, closes cleanly", async () => {
  await withBackend(async (backend) => {
    await commit(backend, "g", 3_000, () => 10);
    const range = { minSequence: 1, maxSequence: 3_000, limit: 0 };
    const iterator = backend.scanSegment("space", "g", range)[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.sequence, 1);
    await iterator.return?.();
    assert.ok((await iterator.next()).done);
    let seen = 0;
    for await (const _entry of backend.scanSegment("space", "g", range)) {
      if (++seen === 1_500) break;
    }
    assert.equal(seen, 1_500);
  });
});
