/**
 * The driver conformance suite: one call registers, with the caller's test runner, every case
 * of the store's semantics (names, produce, restore, the consumes, follow and followSegment,
 * peek and status, inventory, limits, concurrency, abort, lifecycle) and of its notifications.
 *
 * @module
 */

import type { StatusBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import type { StoreFactory } from "../types.ts";
import type { Ctx } from "./_helpers.ts";
import { registerAbort } from "./_abort.ts";
import { registerArguments } from "./_arguments.ts";
import { registerConcurrency } from "./_concurrency.ts";
import { registerConsume } from "./_consume.ts";
import { registerConsumeSegment } from "./_consume_segment.ts";
import { registerConsumeSpace } from "./_consume_space.ts";
import { registerFollow } from "./_follow.ts";
import { registerFollowSegment } from "./_follow_segment.ts";
import { registerLifecycle } from "./_lifecycle.ts";
import { registerNames } from "./_names.ts";
import { registerNotifications } from "./_notifications.ts";
import { registerPayload } from "./_payload.ts";
import { registerPersistence } from "./_persistence.ts";
import { registerProduce } from "./_produce.ts";
import { registerRead } from "./_read.ts";
import { registerRestore } from "./_restore.ts";
import { registerSequence } from "./_sequence.ts";

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
 * const supports: ConformanceSupports = { persistence: true, multiInstance: false };
 * ```
 */
export interface ConformanceSupports {
  /** Data survives closing the factory and opening a new one over the same storage. */
  persistence?: boolean;
  /** Two factories may use the same storage at the same time. */
  multiInstance?: boolean;
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

/**
 * Registers the streamkit driver conformance suite: one test per case of the contract
 * (produce, restore, sequence checks, argument validation, names, both consumes, consume across
 * spaces, follow and followSegment, offsets, peek and status, inventory, payload limits,
 * concurrency, abort, close, reopening, and, when supported, persistence and several instances
 * over one storage). Each test opens its own factory and store (a fresh `crypto.randomUUID()`) and closes
 * them, also when it fails.
 *
 * The suite is runner-agnostic: it uses only `node:assert/strict`, Web APIs and core.
 *
 * @example Deno
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
 * @example Node
 * ```ts ignore
 * import { test } from "node:test";
 * import { conformance } from "@streamkit/core/conformance";
 * import { MemoryStoreFactory } from "@streamkit/memory";
 *
 * conformance({
 *   name: "memory",
 *   test,
 *   factory: (options) => Promise.resolve(new MemoryStoreFactory(options)),
 *   supports: {},
 * });
 * ```
 */
export function conformance(options: ConformanceOptions): void {
  if (typeof options?.test !== "function") throw new TypeError("conformance: test is required");
  if (typeof options.factory !== "function") {
    throw new TypeError("conformance: factory is required");
  }
  const ctx: Ctx = {
    name: options.name,
    test: options.test,
    factory: options.factory,
    supports: { ...options.supports },
  };
  registerProduce(ctx);
  registerRestore(ctx);
  registerSequence(ctx);
  registerArguments(ctx);
  registerNames(ctx);
  registerConsumeSegment(ctx);
  registerConsumeSpace(ctx);
  registerConsume(ctx);
  registerFollow(ctx);
  registerFollowSegment(ctx);
  registerRead(ctx);
  registerPayload(ctx);
  registerConcurrency(ctx);
  registerAbort(ctx);
  registerLifecycle(ctx);
  registerNotifications(ctx);
  registerPersistence(ctx);
}
