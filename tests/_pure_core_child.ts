// Run by pure_core_test.ts with no permissions at all: @streamkit/core's main entry and the
// memory driver load and round-trip a store without FFI (no native addon), files or network.
// With `--with-zstd` it also imports `@streamkit/core/zstd`, which needs the native addon.

import { decodeEntry, encodeEntry, spaceOffset } from "../core/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";

if (Deno.args.includes("--with-zstd")) await import("../core/zstd.ts");

await using factory = new MemoryStoreFactory();
await using store = await factory.newStore(crypto.randomUUID());
const records = [1, 2, 3].map((sequence) => ({
  sequence,
  payload: new TextEncoder().encode(`event ${sequence}`),
}));
for await (const _ of store.produce({ space: "orders", segment: "order-1" }, records));
const read = [];
for await (const entry of store.consumeSpace({ space: "orders" })) {
  read.push(decodeEntry(encodeEntry(entry)));
}
const last = read.at(-1)!;
console.log(JSON.stringify({
  entries: read.length,
  lastPayload: new TextDecoder().decode(last.payload),
  offsetBytes: spaceOffset(last).length,
}));
