// A writer's remembered head (drivers/azure/PROTOCOL.md I9, I11) against other instances that
// read the segment (clearing its pending mark) or write to it.

import assert from "node:assert/strict";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { azuriteFactory } from "./_azure_test_store.ts";

const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ sequence: from + i, payload: new Uint8Array([i]) }));

Deno.test("azure: a writer's remembered head survives other instances reading (and clearing) it", async () => {
  const azurite = await startAzurite();
  const writerFactory = azuriteFactory(azurite, "cache");
  const readerFactory = azuriteFactory(azurite, "cache");
  try {
    const id = crypto.randomUUID();
    const writer = await writerFactory.newStore(id);
    const reader = await readerFactory.newStore(id);
    for (let round = 0; round < 5; round++) {
      const from = round * 3 + 1;
      // The reader's head read finishes the writer's (already done) fanout and clears the
      // pending mark: a new ETag on an unchanged head. The writer must not fail for it.
      for await (const status of writer.produce({ space: "s", segment: "g" }, records(from, 3))) {
        assert.equal(status.lastSequence, from + 2);
      }
      assert.equal((await reader.getSegmentStatus("s", "g"))?.lastSequence, from + 2);
    }
    // A head moved by another writer: the remembered one is stale; the first write that relies
    // on it fails once with SequenceMismatch, the next one continues correctly.
    for await (const _ of reader.produce({ space: "s", segment: "g" }, records(16, 2)));
    await assert.rejects(
      async () => {
        for await (const _ of writer.produce({ space: "s", segment: "g" }, records(16, 1)));
      },
      (error: unknown) => (error as { kind?: string }).kind === "SequenceMismatch",
    );
    for await (const status of writer.produce({ space: "s", segment: "g" }, records(18, 2))) {
      assert.equal(status.lastSequence, 19);
    }
    let count = 0;
    for await (const _ of reader.consumeSpace({ space: "s" })) count++;
    assert.equal(count, 19, "the space index holds every entry once");
  } finally {
    await writerFactory.close();
    await readerFactory.close();
    await azurite.stop();
  }
});
