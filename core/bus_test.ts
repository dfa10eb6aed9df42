import assert from "node:assert/strict";
import { MemoryBus, type SegmentStatus } from "./mod.ts";

const storeId = "0f8fad5b-d9cb-469f-a165-70867728950e";
const status = (segment: string, lastSequence: number): SegmentStatus => ({
  space: "orders",
  segment,
  firstSequence: 1,
  firstTimestamp: 1,
  lastSequence,
  lastTimestamp: lastSequence,
});

Deno.test("MemoryBus delivers matching statuses and coalesces per segment for slow readers", async () => {
  const bus = new MemoryBus();
  const controller = new AbortController();
  const all = bus.subscribe(storeId.toUpperCase(), "orders", "*", controller.signal)
    [Symbol.asyncIterator]();
  const one = bus.subscribe(storeId, "orders", "b", controller.signal)[Symbol.asyncIterator]();
  const firstAll = all.next();
  const firstOne = one.next();
  bus.publish(storeId, status("a", 1));
  assert.equal((await firstAll).value?.segment, "a");
  bus.publish(storeId, status("b", 1));
  bus.publish(storeId, status("b", 2));
  bus.publish(storeId, { ...status("c", 1), space: "billing" });
  bus.publish("11111111-1111-1111-1111-111111111111", status("b", 9));
  assert.equal((await firstOne).value?.lastSequence, 2, "a slow reader gets the newest status");
  assert.deepEqual((await all.next()).value, status("b", 2));
  const reason = new Error("done");
  const pending = all.next();
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  await assert.rejects(one.next(), (error) => error === reason);
});
