import { conformance } from "../core/conformance/mod.ts";
import type { StoreFactory } from "../core/mod.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import { startAzurite } from "../drivers/azure/_test_support.ts";

// One Azurite for the file; it fails loudly if it cannot start, and exits with this process.
const azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

// Each fresh factory gets its own table prefix; `sameStorageAs` shares it (same tables).
const prefixes = new WeakMap<StoreFactory, string>();

// The default layout (a sharded space index), and one shard (the layout of a table without a
// shard record).
for (const spaceShards of [undefined, 1]) {
  conformance({
    name: spaceShards === undefined ? "azure" : `azure (${spaceShards} shard)`,
    test: Deno.test,
    factory: (options = {}) => {
      const tablePrefix = options.sameStorageAs
        ? prefixes.get(options.sameStorageAs)!
        : `c${crypto.randomUUID().slice(0, 8)}`;
      const factory = new AzureStoreFactory({
        connectionString: azurite.connectionString,
        allowInsecureHttp: true,
        tablePrefix,
        bus: options.bus,
        nodeId: options.nodeId,
        clock: options.clock,
        spaceShards,
      });
      prefixes.set(factory, tablePrefix);
      return Promise.resolve(factory);
    },
    supports: { persistence: true, multiInstance: true, listStores: true },
  });
}
