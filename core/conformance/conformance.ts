/**
 * The driver conformance suite: one call registers, with the caller's test runner, every case
 * of the store's semantics (names, produce, restore, the consumes, follow and followSegment,
 * peek and status, inventory, limits, concurrency, abort, lifecycle, checkpoints and leases and
 * their listings) and of its notifications.
 *
 * @module
 */

import { registerAbort } from "./_abort.ts";
import { registerArguments } from "./_arguments.ts";
import { registerCheckpoints } from "./_checkpoints.ts";
import { registerConcurrency } from "./_concurrency.ts";
import { registerConsume } from "./_consume.ts";
import { registerConsumeInvalid } from "./_consume_invalid.ts";
import { registerConsumeSegment } from "./_consume_segment.ts";
import { registerConsumeSpace } from "./_consume_space.ts";
import { registerConsumeSpaceInvalid } from "./_consume_space_invalid.ts";
import { registerConsumeStopped } from "./_consume_stopped.ts";
import type { Ctx } from "./_context.ts";
import { registerFollow } from "./_follow.ts";
import { registerFollowSegment } from "./_follow_segment.ts";
import { registerFollowStopped } from "./_follow_stopped.ts";
import { registerLeases } from "./_leases.ts";
import { registerLifecycle } from "./_lifecycle.ts";
import { registerListStores } from "./_list_stores.ts";
import { registerMetaListing } from "./_meta_listing.ts";
import { registerNames } from "./_names.ts";
import { registerNotifications } from "./_notifications.ts";
import { registerPayload } from "./_payload.ts";
import { registerPersistence } from "./_persistence.ts";
import { registerProduce } from "./_produce.ts";
import { registerRead } from "./_read.ts";
import { registerRestoreBasics } from "./_restore_basics.ts";
import { registerRestoreChecks } from "./_restore_checks.ts";
import { registerRestoreChunks } from "./_restore_chunks.ts";
import { registerRestoreInvalid } from "./_restore_invalid.ts";
import { registerRestoreLifecycle } from "./_restore_lifecycle.ts";
import { registerRestoreRaces } from "./_restore_races.ts";
import { registerSequence } from "./_sequence.ts";
import type { ConformanceOptions } from "./options.ts";

/**
 * Registers the streamkit driver conformance suite: one test per case of the contract
 * (produce, restore, sequence checks, argument validation, names, both consumes, consume across
 * spaces, follow and followSegment, offsets, peek and status, inventory, payload limits,
 * concurrency, abort, close, reopening, and, when supported, persistence and several instances
 * over one storage). Each test opens its own factory and store (a fresh `crypto.randomUUID()`)
 * and closes them, also when it fails.
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
  registerRestoreBasics(ctx);
  registerRestoreChecks(ctx);
  registerRestoreChunks(ctx);
  registerRestoreRaces(ctx);
  registerRestoreLifecycle(ctx);
  registerRestoreInvalid(ctx);
  registerSequence(ctx);
  registerArguments(ctx);
  registerNames(ctx);
  registerConsumeSegment(ctx);
  registerConsumeSpace(ctx);
  registerConsumeSpaceInvalid(ctx);
  registerConsume(ctx);
  registerConsumeInvalid(ctx);
  registerConsumeStopped(ctx);
  registerFollow(ctx);
  registerFollowSegment(ctx);
  registerFollowStopped(ctx);
  registerRead(ctx);
  registerPayload(ctx);
  registerConcurrency(ctx);
  registerAbort(ctx);
  registerLifecycle(ctx);
  registerCheckpoints(ctx);
  registerLeases(ctx);
  registerMetaListing(ctx);
  registerNotifications(ctx);
  registerPersistence(ctx);
  registerListStores(ctx);
}
