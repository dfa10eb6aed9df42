/**
 * @streamkit/azure: the streamkit driver for Azure Table Storage, through
 * `@azure/data-tables`: many API instances sharing one durable store.
 *
 * @example
 * ```ts ignore
 * import { AzureStoreFactory } from "@streamkit/azure";
 * await using factory = new AzureStoreFactory({
 *   accountName: "mystorageaccount",
 *   accountKey: Deno.env.get("AZURE_STORAGE_KEY")!,
 * });
 * await using store = await factory.newStore(crypto.randomUUID());
 * console.log(store.limits.maxChunkRecords); // 90
 * ```
 *
 * @module
 */

export * from "./azure_store_factory.ts";
export * from "./table_name.ts";
export type { RetryPolicy } from "./_requests.ts";
