// A writer's clock against the table's time (drivers/azure/PROTOCOL.md I6, I15): inside
// maxClockSkewMs it writes, its chunks stamped by the table's time; beyond it its produce fails
// with ClockSkew, writes nothing, and holds no reader back.

import assert from "node:assert/strict";
import { type Entry, StreamkitError } from "../core/mod.ts";
import type { Clock } from "../core/driver.ts";
import { collect, waitFor } from "../core/_test_util.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { directTable, markerKeys } from "./_azure_inspect.ts";
import { azuriteFactory, produceNumbered } from "./_azure_test_store.ts";

const PREFIX = "clock";
const SPACE = "orders";
const ALLOWANCE_MS = 500;

const azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

/** A clock `offsetMs` away from this host's (Azurite's table time is this host's clock). */
function offsetClock(offsetMs: number): Clock {
  return { now: () => Date.now() + offsetMs };
}

for (const offsetMs of [-3 * ALLOWANCE_MS, 3 * ALLOWANCE_MS]) {
  const way = offsetMs < 0 ? "behind" : "ahead";
  Deno.test(`azure clock: a writer ${Math.abs(offsetMs / ALLOWANCE_MS)}x the allowance ${way} gets ClockSkew, writes nothing, holds no reader back`, async () => {
    const storeId = crypto.randomUUID();
    await using good = azuriteFactory(azurite, PREFIX);
    await using skewed = azuriteFactory(azurite, PREFIX, { clock: offsetClock(offsetMs) });
    const reader = await good.newStore(storeId);
    await produceNumbered(reader, SPACE, "good", 1, 3);
    const writer = await skewed.newStore(storeId);
    const error = await produceNumbered(writer, SPACE, "skewed", 1, 5).then(
      () => assert.fail("a skewed writer's produce succeeded"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof StreamkitError, String(error));
    assert.equal(error.kind, "ClockSkew");
    assert.equal(error.transient, false);
    assert.match(
      error.message,
      new RegExp(`about \\d+ ms ${way === "behind" ? "behind" : "ahead of"}`),
    );
    assert.match(error.message, /maxClockSkewMs \(500 ms\)/);
    const measured = Number(/about (\d+) ms/.exec(error.message)![1]);
    assert.ok(Math.abs(measured - Math.abs(offsetMs)) < 250, `measured ${measured} ms`);

    // Nothing written: no entry, no head, no inventory; its marker goes at once.
    assert.equal(await writer.getSegmentStatus(SPACE, "skewed"), undefined);
    assert.deepEqual(await collect(reader.getSegments(SPACE)), ["good"]);
    const table = directTable(azurite.connectionString, PREFIX, storeId);
    await waitFor(
      "the skewed writer's marker to go",
      async () => (await markerKeys(table)).length === 0,
    );

    // Readers are not held back: a chunk committed now is read at once, in another process's
    // factory as in the writer's.
    await produceNumbered(reader, SPACE, "good", 4, 2);
    const read = await collect(reader.consumeSpace({ space: SPACE }));
    assert.deepEqual(read.map((entry: Entry) => entry.sequence), [1, 2, 3, 4, 5]);
  });
}

for (const offsetMs of [-ALLOWANCE_MS * 0.6, ALLOWANCE_MS * 0.6]) {
  const way = offsetMs < 0 ? "behind" : "ahead of";
  Deno.test(`azure clock: a writer ${Math.abs(offsetMs)} ms ${way} the table writes, stamped by the table's time`, async () => {
    const storeId = crypto.randomUUID();
    await using skewed = azuriteFactory(azurite, PREFIX, { clock: offsetClock(offsetMs) });
    const writer = await skewed.newStore(storeId);
    const before = Date.now();
    await produceNumbered(writer, SPACE, "skewed", 1, 5);
    const after = Date.now();
    const [entry] = await collect(writer.consumeSegment({ space: SPACE, segment: "skewed" }));
    // The table's time stamps it (its marker's write), whichever way this clock is off.
    assert.ok(entry.timestamp >= before && entry.timestamp <= after, `${entry.timestamp}`);
    const read = await collect(writer.consumeSpace({ space: SPACE }));
    assert.equal(read.length, 5);
  });
}

Deno.test("azure clock: maxClockSkewMs must be a non-negative safe integer", () => {
  assert.throws(
    () => azuriteFactory(azurite, PREFIX, { maxClockSkewMs: -1 }),
    (error: unknown) =>
      error instanceof StreamkitError && error.kind === "InvalidArgument" &&
      error.message.includes("maxClockSkewMs"),
  );
});
