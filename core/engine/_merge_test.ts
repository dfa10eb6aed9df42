import assert from "node:assert/strict";
import { mergeTimelines } from "./_merge.ts";
import type { Entry } from "../types.ts";

function entry(space: string, segment: string, sequence: number, timestamp: number): Entry {
  const trx = { id: crypto.randomUUID(), node: crypto.randomUUID(), number: 1 };
  return { space, segment, sequence, timestamp, trx, payload: new Uint8Array(), metadata: {} };
}

/** A timeline that records whether it was closed. */
function timeline(entries: Entry[]): AsyncIterable<Entry> & { closed: boolean } {
  const result = {
    closed: false,
    async *[Symbol.asyncIterator]() {
      try {
        yield* entries;
      } finally {
        result.closed = true;
      }
    },
  };
  return result;
}

const label = (e: Entry) => `${e.timestamp}:${e.space}/${e.segment}#${e.sequence}`;

Deno.test("mergeTimelines orders by timestamp, then by the spaces' given order", async () => {
  const a = timeline([entry("a", "x", 1, 10), entry("a", "x", 2, 20), entry("a", "y", 1, 20)]);
  const b = timeline([entry("b", "x", 1, 5), entry("b", "x", 2, 20), entry("b", "x", 3, 30)]);
  const c = timeline([]);
  const merged = [];
  for await (const e of mergeTimelines([a, b, c])) merged.push(label(e));
  assert.deepEqual(merged, [
    "5:b/x#1",
    "10:a/x#1",
    "20:a/x#2",
    "20:a/y#1",
    "20:b/x#2",
    "30:b/x#3",
  ]);
  assert.ok(a.closed && b.closed && c.closed);
});

Deno.test("mergeTimelines closes every timeline when the caller stops early", async () => {
  const a = timeline([entry("a", "x", 1, 1), entry("a", "x", 2, 2)]);
  const b = timeline([entry("b", "x", 1, 3)]);
  for await (const _ of mergeTimelines([a, b])) break;
  assert.ok(a.closed && b.closed);
});
