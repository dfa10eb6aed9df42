// LevelStoreFactory.listStores: the store directories under `path`, nothing else there.

import assert from "node:assert/strict";
import { join } from "node:path";
import { LevelStoreFactory } from "../drivers/level/mod.ts";

Deno.test("level listStores: the stores under path in ascending order, not other files or directories", async () => {
  const path = await Deno.makeTempDir({ prefix: "streamkit-level-list-" });
  try {
    await using missing = new LevelStoreFactory({ path: join(path, "not yet") });
    assert.deepEqual(await missing.listStores(), []);

    const ids = ["6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10", "0F8FAD5B-D9CB-469F-A165-70867728950E"];
    {
      await using factory = new LevelStoreFactory({ path });
      for (const id of ids) await (await factory.newStore(id)).close();
    }
    // What else may live there: the demo's files, a directory that is not a store id, and one
    // in upper case (newStore names directories in lower case).
    await Deno.writeTextFile(join(path, "demo-space-offset.hex"), "00");
    await Deno.mkdir(join(path, "backups"));
    await Deno.mkdir(join(path, "5D3A1F0E-8C2B-4E4F-9A6D-2F1E0C9B8A70"));
    await Deno.writeTextFile(join(path, "5d3a1f0e-8c2b-4e4f-9a6d-2f1e0c9b8a70"), "a file");

    await using factory = new LevelStoreFactory({ path });
    assert.deepEqual(await factory.listStores(), [
      "0f8fad5b-d9cb-469f-a165-70867728950e",
      "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10",
    ]);
  } finally {
    await Deno.remove(path, { recursive: true });
  }
});
