// AzureStoreFactory.listStores: the tables of the factory's prefix, as store ids; tables of
// other prefixes and other tables of the account are not stores of it.

import assert from "node:assert/strict";
import { TableClient } from "@azure/data-tables";
import { startAzurite } from "../drivers/azure/_test_support.ts";
import { azuriteFactory } from "./_azure_test_store.ts";

const IDS = ["6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10", "0f8fad5b-d9cb-469f-a165-70867728950e"];

Deno.test("azure listStores: the stores of the table prefix, in ascending order", async () => {
  const azurite = await startAzurite();
  try {
    const factory = (tablePrefix?: string) => azuriteFactory(azurite, tablePrefix);
    {
      await using empty = factory("list");
      assert.deepEqual(await empty.listStores(), []);
    }
    for (
      const [prefix, ids] of [["list", IDS], ["List-2", IDS.slice(0, 1)], [undefined, IDS]] as const
    ) {
      await using writer = factory(prefix);
      for (const id of ids) await (await writer.newStore(id.toUpperCase())).close();
    }
    // A table that only looks like a store of the prefix: its id part is not 32 hex digits.
    await TableClient.fromConnectionString(azurite.connectionString, "listnotastore", {
      allowInsecureConnection: true,
    }).createTable();

    await using list = factory("list");
    assert.deepEqual(await list.listStores(), [...IDS].sort());
    await using list2 = factory("list2");
    assert.deepEqual(await list2.listStores(), [IDS[0]]);
    await using byDefault = factory();
    assert.deepEqual(await byDefault.listStores(), [...IDS].sort());
    await using other = factory("other");
    assert.deepEqual(await other.listStores(), []);
  } finally {
    await azurite.stop();
  }
});
