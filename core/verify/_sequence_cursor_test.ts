import assert from "node:assert/strict";
import type { Entry } from "../types.ts";
import { SequenceCursor } from "./_sequence_cursor.ts";

const TRX = {
  id: "6ba7b810-9dad-41d1-80b4-00c04fd430c8",
  node: "00000000-0000-0000-0000-000000000000",
  number: 1,
};

function entryAt(sequence: number): Entry {
  return {
    space: "s",
    segment: "g",
    sequence,
    timestamp: 1,
    trx: TRX,
    payload: new Uint8Array(),
    metadata: {},
  };
}

Deno.test("SequenceCursor: reads forward to each sequence asked for", async () => {
  let closed = false;
  async function* entries() {
    try {
      for (const sequence of [1, 2, 4, 5, 7]) yield entryAt(sequence);
    } finally {
      closed = true;
    }
  }
  const cursor = new SequenceCursor(entries());
  assert.equal((await cursor.at(2))?.sequence, 2);
  assert.equal(await cursor.at(3), undefined);
  assert.equal((await cursor.at(4))?.sequence, 4);
  assert.equal((await cursor.at(7))?.sequence, 7);
  await cursor.close();
  assert.ok(closed, "the read was not ended");
  assert.equal(await cursor.at(8), undefined);
});

Deno.test("SequenceCursor: past the index's end, nothing", async () => {
  async function* entries() {
    yield entryAt(1);
  }
  const cursor = new SequenceCursor(entries());
  assert.equal(await cursor.at(2), undefined);
  assert.equal(await cursor.at(3), undefined);
  await cursor.close();
});
