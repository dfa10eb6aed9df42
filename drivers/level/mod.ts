/**
 * @streamkit/level: the embedded streamkit driver, over LevelDB through `classic-level`.
 *
 * @example
 * ```ts ignore
 * import { LevelStoreFactory } from "@streamkit/level";
 * await using factory = new LevelStoreFactory({ path: "./.streamkit-data" });
 * await using store = await factory.newStore(crypto.randomUUID());
 * for await (const space of store.getSpaces()) console.log(space);
 * ```
 *
 * @module
 */

export * from "./level_store_factory.ts";
