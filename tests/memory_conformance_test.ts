import { conformance } from "../core/conformance/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";

conformance({
  name: "memory",
  test: Deno.test,
  factory: (options) => Promise.resolve(new MemoryStoreFactory(options)),
  supports: {},
});
