import assert from "node:assert/strict";
import { StreamkitError } from "../core/mod.ts";
import { collect } from "../core/_test_util.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { azuriteFactory, randomBytes } from "./_azure_test_store.ts";

Deno.test("azure: an entry too large for a row with its metadata is PayloadTooLarge, nothing written", async () => {
  const azurite = await startAzurite();
  const factory = azuriteFactory(azurite, "size");
  try {
    const store = await factory.newStore(crypto.randomUUID());
    const payload = randomBytes(store.limits.maxPayloadBytes);
    // About 6 bits of entropy per character: compresses to some 300 KB.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const noise = Array.from(
      randomBytes(400_000),
      (byte) => alphabet[byte & 63],
    ).join("");
    const records = [
      { sequence: 1, payload: new Uint8Array(10) },
      { sequence: 2, payload, metadata: { noise } },
    ];
    await assert.rejects(
      async () => {
        for await (const _ of store.produce({ space: "s", segment: "g" }, records));
      },
      (error: unknown) => {
        assert.ok(error instanceof StreamkitError);
        assert.equal(error.kind, "PayloadTooLarge");
        assert.match(error.message, /sequence 2/);
        return true;
      },
    );
    assert.equal(await store.getSegmentStatus("s", "g"), undefined, "nothing of the chunk");
    assert.deepEqual(await collect(store.getSpaces()), []);
    for await (const status of store.produce({ space: "s", segment: "g" }, [records[0]])) {
      assert.equal(status.lastSequence, 1, "the segment stays usable");
    }
  } finally {
    await factory.close();
    await azurite.stop();
  }
});
