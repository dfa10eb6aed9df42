// The conformance suite through RemoteStoreFactory against a server on memory and on level.

import assert from "node:assert/strict";
import { conformance } from "../core/conformance/mod.ts";
import type { StoreFactory } from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { MemoryStoreFactory } from "../drivers/memory/mod.ts";
import { startRemoteHarness } from "./_remote_harness.ts";

const memory = startRemoteHarness((options) => Promise.resolve(new MemoryStoreFactory(options)));
const root = await Deno.makeTempDir({ prefix: "streamkit-remote-conformance-" });
const directories: string[] = [];
const level = startRemoteHarness(async (options) => {
  const path = await Deno.makeTempDir({ dir: root });
  directories.push(path);
  return new LevelStoreFactory({ path, ...options }) as StoreFactory;
});

conformance({
  name: "remote memory",
  test: Deno.test,
  factory: memory.factory,
  supports: { multiInstance: true, listStores: true },
});

conformance({
  name: "remote level",
  test: Deno.test,
  factory: level.factory,
  supports: { persistence: true, multiInstance: true, listStores: true },
});

// Registered last, so it runs after every case: stopping the servers closes their stores, and
// LevelDB's locks are released (a new factory opens each directory).
Deno.test("remote: the servers stop and close their stores", async () => {
  await memory.close();
  await level.close();
  assert.ok(directories.length > 0);
  for (const path of directories) {
    await using reopened = new LevelStoreFactory({ path });
    assert.ok((await reopened.listStores()).length >= 0);
  }
  await Deno.remove(root, { recursive: true });
});
