// The child process of the kill tests (_kill_harness.ts): opens the store its orders name and
// produces into it until it is killed.
//
// Run as `deno run <its driver's permissions> tests/_kill_child.ts <orders>`, the orders being
// ChildOrders as JSON (see _kill_protocol.ts, which also describes the output). An Azure child
// reads its connection string from AZURE_CONNECTION_ENV. It produces forever to every segment
// of the kill spaces at once, each produce of a random size (some above the driver's chunk
// limit, so the engine splits them), with random pauses between them.

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
