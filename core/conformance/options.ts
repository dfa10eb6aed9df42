/**
 * The types of the options of {@linkcode conformance}: what the suite hands the driver's
 * factory function, and what the driver declares it supports.
 *
 * @module
 */

import type { StatusBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import type { StoreFactory } from "../types.ts";

/**
 * What the suite passes to the driver's factory function.
 *
 * @example
 * ```ts
 * import type { ConformanceFactoryOptions } from "@streamkit/core/conformance";
 * import { MemoryBus } from "@streamkit/core";
 * const options: ConformanceFactoryOptions = {
 *   bus: new MemoryBus(),
 *   nodeId: "6f1c2c57-8c1e-4c55-9d61-0c8d1c3a4b5e",
 * };
 * ```
 */
export interface ConformanceFactoryOptions {
  /** A status bus to hand to the factory (every factory accepts `bus`). */
  bus?: StatusBus;
  /** A node UUID to hand to the factory (every factory accepts `nodeId`). */
  nodeId?: string;
  /**
   * A clock to hand to the factory (factories built on `BackendStoreFactory` accept `clock`).
   * Cases pass one they move by hand to stamp chunks of several spaces in one millisecond; with
   * a factory that ignores it they fall back on concurrent produces landing in one millisecond.
   */
  clock?: Clock;
  /**
   * A factory made earlier by the same function: open a new factory over the same storage.
   * Only used when `supports.persistence` or `supports.multiInstance` is set.
   */
  sameStorageAs?: StoreFactory;
}

/**
 * Capabilities of the driver under test; cases that need one are registered only when it is
 * set.
 *
 * @example
 * ```ts
 * import type { ConformanceSupports } from "@streamkit/core/conformance";
 * const supports: ConformanceSupports = { persistence: true, multiInstance: false, listStores: true };
 * ```
 */
export interface ConformanceSupports {
  /** Data survives closing the factory and opening a new one over the same storage. */
  persistence?: boolean;
  /** Two factories may use the same storage at the same time. */
  multiInstance?: boolean;
  /** The factory implements `listStores` (its stores outlive the process). */
  listStores?: boolean;
}

/**
 * A test registration function: `Deno.test` or `node:test`'s `test`.
 *
 * @example
 * ```ts
 * import type { ConformanceTest } from "@streamkit/core/conformance";
 * const names: string[] = [];
 * const listOnly: ConformanceTest = (name) => {
 *   names.push(name);
 * };
 * ```
 */
export type ConformanceTest = (name: string, fn: () => Promise<void>) => void;

/**
 * Options of {@linkcode conformance}.
 *
 * @example
 * ```ts
 * import type { ConformanceOptions } from "@streamkit/core/conformance";
 * import type { StoreFactory } from "@streamkit/core";
 * declare function openFactory(): StoreFactory;
 * const options: ConformanceOptions = {
 *   name: "my-driver",
 *   test: (name, fn) => void fn().catch((error) => console.error(name, error)),
 *   factory: () => Promise.resolve(openFactory()),
 *   supports: {},
 * };
 * ```
 */
export interface ConformanceOptions {
  /** Prefix of every test name, e.g. `"memory"`. */
  name: string;
  /** Registers one test. */
  test: ConformanceTest;
  /**
   * Makes a factory over fresh, isolated storage, or over the storage of `sameStorageAs`.
   * It must pass `bus` and `nodeId` on to the driver.
   */
  factory: (options?: ConformanceFactoryOptions) => Promise<StoreFactory>;
  /** What the driver supports beyond the baseline. */
  supports: ConformanceSupports;
}
