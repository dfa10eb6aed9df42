// The child process of the kill tests: `deno run <its driver's permissions> tests/_kill_child.ts
// <ChildOrders as JSON>` opens the store and produces into every kill segment until it is
// killed (tests/KILL_TESTS.md).

import { SeededRandom } from "../core/_test_random.ts";
import type { Store } from "../core/mod.ts";
import { AZURE_CONNECTION_ENV, type ChildOrders, produceToEverySegment } from "./_kill_protocol.ts";

// Each driver is imported only by the children that run it, so a child needs only the
// permissions of its own driver.
async function openStore({ store, storeId }: ChildOrders): Promise<Store> {
  switch (store.driver) {
    case "level": {
      const { LevelStoreFactory } = await import("../drivers/level/mod.ts");
      return await new LevelStoreFactory({ path: store.path }).newStore(storeId);
    }
    case "azure": {
      const { AzureStoreFactory } = await import("../drivers/azure/mod.ts");
      const connectionString = Deno.env.get(AZURE_CONNECTION_ENV);
      if (!connectionString) throw new Error(`${AZURE_CONNECTION_ENV} is not set`);
      const factory = new AzureStoreFactory({
        connectionString,
        allowInsecureHttp: true,
        tablePrefix: store.tablePrefix,
        sweepIntervalMs: 0,
      });
      // newStore runs the driver's recovery of what the child killed before left.
      return await factory.newStore(storeId);
    }
  }
}

async function main(): Promise<void> {
  const orders: ChildOrders = JSON.parse(Deno.args[0]);
  const store = await openStore(orders);
  await produceToEverySegment(
    store,
    new SeededRandom(orders.seed),
    orders.produceSizes,
    orders.maxPauseMs,
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error("kill child failed:", error);
    Deno.exit(3);
  }
}
