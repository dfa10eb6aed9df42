/**
 * `@streamkit/core/conformance`: the shared conformance suite every streamkit driver runs. A
 * driver whose data survives reopening says so in `supports`, and reopens the storage of
 * `sameStorageAs`:
 *
 * ```ts ignore
 * import { conformance } from "@streamkit/core/conformance";
 * import type { StoreFactory } from "@streamkit/core";
 * import { LevelStoreFactory } from "@streamkit/level";
 *
 * const paths = new WeakMap<StoreFactory, string>();
 * conformance({
 *   name: "level",
 *   test: Deno.test,
 *   factory: async ({ sameStorageAs, ...options } = {}) => {
 *     const path = sameStorageAs ? paths.get(sameStorageAs)! : await Deno.makeTempDir();
 *     const factory = new LevelStoreFactory({ path, ...options });
 *     paths.set(factory, path);
 *     return factory;
 *   },
 *   supports: { persistence: true },
 * });
 * ```
 *
 * @module
 */

export { conformance } from "./conformance.ts";
export type {
  ConformanceFactoryOptions,
  ConformanceOptions,
  ConformanceSupports,
  ConformanceTest,
} from "./options.ts";

// The core types the suite's options refer to, so that this entry point documents completely.
export type { StatusBus } from "../bus.ts";
export type { Clock } from "../clock.ts";
export type * from "../types.ts";
