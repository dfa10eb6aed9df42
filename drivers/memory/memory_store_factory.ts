/**
 * The memory driver's factory.
 *
 * @module
 */

import type { StoreId } from "@streamkit/core";
import {
  type BackendLimits,
  BackendStoreFactory,
  type BackendStoreFactoryOptions,
  resolveLimits,
  type StoreBackend,
} from "@streamkit/core/driver";
import { MemoryBackend, MemoryStoreData } from "./_memory_backend.ts";

/**
 * Options of {@linkcode MemoryStoreFactory}.
 *
 * @example
 * ```ts
 * import type { MemoryStoreFactoryOptions } from "@streamkit/memory";
 * const options: MemoryStoreFactoryOptions = { limits: { maxChunkRecords: 100 } };
 * ```
 */
export interface MemoryStoreFactoryOptions extends BackendStoreFactoryOptions {
  /** Overrides of the default limits (16 MiB payloads, 10,000 records and 64 MiB a chunk). */
  limits?: Partial<BackendLimits>;
}

const DEFAULT_LIMITS: BackendLimits = {
  maxPayloadBytes: 16 * 1024 * 1024,
  maxChunkRecords: 10_000,
  maxChunkBytes: 64 * 1024 * 1024,
};

/**
 * Stores kept in memory: the reference driver for tests and demos. Same semantics as every
 * other driver; data lives as long as the factory (closing a store and opening it again through
 * the same factory finds it), and is dropped by `close()`.
 *
 * @example
 * ```ts
 * import { MemoryStoreFactory } from "@streamkit/memory";
 * await using factory = new MemoryStoreFactory();
 * const store = await factory.newStore(crypto.randomUUID());
 * const records = [1, 2, 3].map((sequence) => ({
 *   sequence,
 *   payload: new TextEncoder().encode(`event ${sequence}`),
 * }));
 * for await (const status of store.produce({ space: "orders", segment: "order-1" }, records)) {
 *   console.log(status.lastSequence); // 3
 * }
 * for await (const entry of store.consumeSegment({ space: "orders", segment: "order-1" })) {
 *   console.log(entry.sequence, new TextDecoder().decode(entry.payload));
 * }
 * ```
 */
export class MemoryStoreFactory extends BackendStoreFactory {
  #limits: BackendLimits;
  #stores = new Map<StoreId, MemoryStoreData>();

  /** Creates an empty factory; throws `InvalidArgument` for bad options. */
  constructor(options: MemoryStoreFactoryOptions = {}) {
    super(options);
    this.#limits = resolveLimits(DEFAULT_LIMITS, options.limits);
  }

  /** Opens the in-memory store `storeId`, creating it empty the first time. */
  protected openBackend(storeId: StoreId): Promise<StoreBackend> {
    let data = this.#stores.get(storeId);
    if (!data) {
      data = new MemoryStoreData();
      this.#stores.set(storeId, data);
    }
    return Promise.resolve(new MemoryBackend(data, this.#limits));
  }

  /** Closes every store this factory opened and drops their data. */
  override async close(): Promise<void> {
    await super.close();
    this.#stores.clear();
  }
}
