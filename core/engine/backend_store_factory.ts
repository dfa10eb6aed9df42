/**
 * The base of every driver's factory: opens backends, shares them between handles of one
 * store id, and turns them into stores with the shared semantics.
 *
 * @module
 */

import type { StoreBackend } from "../backend.ts";
import type { StatusBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import { MonotonicClock } from "./_monotonic_clock.ts";
import { StreamkitError } from "../errors.ts";
import { KeyedLock } from "./_lock.ts";
import { SharedReads } from "./_shared_reads.ts";
import { validateStoreId, validateUuid } from "../names.ts";
import type { Store, StoreFactory, StoreId } from "../types.ts";
import { SpaceWatermark } from "./_watermark.ts";
import { ChangeFeed } from "./_change_feed.ts";
import { EngineStore } from "./_store.ts";
import type { OpenedStore } from "./_opened_store.ts";

/**
 * The options every factory takes.
 *
 * @example
 * ```ts
 * import { MemoryBus } from "@streamkit/core";
 * import type { BackendStoreFactoryOptions } from "@streamkit/core/driver";
 * const options: BackendStoreFactoryOptions = {
 *   bus: new MemoryBus(),
 *   nodeId: "6f1d2f4e-8a55-4c5e-9a39-3f0f4c3c2b10",
 * };
 * ```
 */
export interface BackendStoreFactoryOptions {
  /** Receives the status of every committed chunk. */
  bus?: StatusBus;
  /** This writer's node UUID, stamped into `trx.node`; all-zero when absent. */
  nodeId?: string;
  /**
   * The clock entries are stamped with (default: `Date.now`, held at its last value while the
   * wall clock steps back).
   * It must advance: a produce may wait for the clock's next millisecond.
   */
  clock?: Clock;
}

const NIL_NODE_ID = "00000000-0000-0000-0000-000000000000";

interface OpenStore extends OpenedStore {
  handles: number;
}

/**
 * A {@linkcode StoreFactory} over a driver's {@linkcode StoreBackend}s. A driver subclasses it
 * and implements `openBackend`; handles of one store id share one backend (reference-counted,
 * closed with the last handle), one per-segment lock, one space watermark and one change feed
 * (which wakes followers).
 *
 * @example
 * ```ts
 * import { BackendStoreFactory, type StoreBackend } from "@streamkit/core/driver";
 * declare function openMyBackend(storeId: string): Promise<StoreBackend>;
 * class MyStoreFactory extends BackendStoreFactory {
 *   protected openBackend(storeId: string): Promise<StoreBackend> {
 *     return openMyBackend(storeId);
 *   }
 * }
 * ```
 */
export abstract class BackendStoreFactory implements StoreFactory {
  #bus: StatusBus | undefined;
  #nodeId: string;
  #clock: Clock;
  #open = new Map<StoreId, Promise<OpenStore>>();
  #releasing = new Map<StoreId, Promise<void>>();
  #stores = new Set<EngineStore>();
  #closed: Promise<void> | undefined;

  /** Checks the options; throws `InvalidArgument` for a `nodeId` that is not a UUID. */
  constructor(options: BackendStoreFactoryOptions = {}) {
    this.#bus = options.bus;
    this.#nodeId = options.nodeId === undefined
      ? NIL_NODE_ID
      : validateUuid("nodeId", options.nodeId);
    this.#clock = options.clock ?? new MonotonicClock();
  }

  /** Opens the backend of store `storeId` (a lower-case UUID). */
  protected abstract openBackend(storeId: StoreId): Promise<StoreBackend>;

  #closedError(): StreamkitError {
    return new StreamkitError("Closed", "store factory is closed");
  }

  async #acquire(storeId: StoreId): Promise<OpenStore> {
    while (true) {
      let opening = this.#open.get(storeId);
      if (!opening) {
        opening = this.#openShared(storeId);
        this.#open.set(storeId, opening);
        const registered = opening;
        registered.catch(() => {
          if (this.#open.get(storeId) === registered) this.#open.delete(storeId);
        });
      }
      const open = await opening;
      // The last handle may have released this backend while we waited: open it anew.
      if (this.#open.get(storeId) !== opening) continue;
      open.handles++;
      return open;
    }
  }

  async #openShared(storeId: StoreId): Promise<OpenStore> {
    await this.#releasing.get(storeId);
    const backend = await this.openBackend(storeId);
    return {
      storeId,
      backend,
      lock: new KeyedLock(),
      watermark: new SpaceWatermark(),
      feed: new ChangeFeed(),
      clock: this.#clock,
      nodeId: this.#nodeId,
      bus: this.#bus,
      provenBounds: new Map(),
      sharedReads: new SharedReads(),
      handles: 0,
    };
  }

  async #release(open: OpenStore): Promise<void> {
    if (--open.handles > 0) return;
    this.#open.delete(open.storeId);
    const closing = open.backend.close();
    const releasing = closing.catch(() => {}).finally(() => {
      if (this.#releasing.get(open.storeId) === releasing) this.#releasing.delete(open.storeId);
    });
    this.#releasing.set(open.storeId, releasing);
    await closing;
  }

  /** Opens a handle on store `storeId`, creating the store if it does not exist. */
  async newStore(storeId: StoreId): Promise<Store> {
    if (this.#closed) throw this.#closedError();
    const id = validateStoreId(storeId);
    const open = await this.#acquire(id);
    if (this.#closed) {
      await this.#release(open);
      throw this.#closedError();
    }
    const store: EngineStore = new EngineStore(open, async () => {
      this.#stores.delete(store);
      await this.#release(open);
    });
    this.#stores.add(store);
    return store;
  }

  /** Closes every store this factory opened; idempotent. */
  close(): Promise<void> {
    this.#closed ??= Promise.all([...this.#stores].map((store) => store.close())).then(() => {});
    return this.#closed;
  }

  /** Same as {@linkcode BackendStoreFactory.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
