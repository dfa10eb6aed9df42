/**
 * @streamkit/memory: the in-memory streamkit driver, for tests and demos.
 *
 * @example
 * ```ts
 * import { MemoryStoreFactory } from "@streamkit/memory";
 * await using factory = new MemoryStoreFactory();
 * await using store = await factory.newStore(crypto.randomUUID());
 * console.log(await store.getSegmentStatus("orders", "order-1")); // undefined
 * ```
 *
 * @module
 */

export * from "./memory_store_factory.ts";
