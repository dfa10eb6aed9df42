import { conformance } from "../core/conformance/mod.ts";
import type { StoreFactory } from "../core/mod.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";

// Each fresh factory gets its own directory; `sameStorageAs` reopens that directory.
const directories = new WeakMap<StoreFactory, string>();
const root = await Deno.makeTempDir({ prefix: "streamkit-level-conformance-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

conformance({
  name: "level",
  test: Deno.test,
  factory: async ({ sameStorageAs, ...options } = {}) => {
    const path = sameStorageAs
      ? directories.get(sameStorageAs)!
      : await Deno.makeTempDir({ dir: root });
    const factory = new LevelStoreFactory({ path, ...options });
    directories.set(factory, path);
    return factory;
  },
  supports: { persistence: true, listStores: true },
});
