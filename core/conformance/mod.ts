/**
 * `@streamkit/core/conformance`: the shared conformance suite every streamkit driver runs.
 *
 * ```ts ignore
 * import { conformance } from "@streamkit/core/conformance";
 * import { MemoryStoreFactory } from "@streamkit/memory";
 *
 * conformance({
 *   name: "memory",
 *   test: Deno.test,
 *   factory: (options) => Promise.resolve(new MemoryStoreFactory(options)),
 *   supports: {},
 * });
 * ```
 *
 * @module
 */

export {
  conformance,
  type ConformanceFactoryOptions,
  type ConformanceOptions,
  type ConformanceSupports,
  type ConformanceTest,
} from "./conformance.ts";

// The core types the suite's options refer to, so that this entry point documents completely.
export type { StatusBus } from "../bus.ts";
export type { Clock } from "../clock.ts";
export type * from "../types.ts";
