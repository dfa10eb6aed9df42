/**
 * The LevelDB driver's factory.
 *
 * @module
 */

import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { type ReadOptions, type StoreId, StreamkitError, validateStoreId } from "@streamkit/core";
import {
  type BackendLimits,
  BackendStoreFactory,
  type BackendStoreFactoryOptions,
  resolveLimits,
  type StoreBackend,
} from "@streamkit/core/driver";
import { LevelBackend, type LevelDatabase } from "./_level_backend.ts";

/**
 * Options of {@linkcode LevelStoreFactory}.
 *
 * @example
 * ```ts
 * import type { LevelStoreFactoryOptions } from "@streamkit/level";
 * const options: LevelStoreFactoryOptions = { path: "./.streamkit-data" };
 * ```
 */
export interface LevelStoreFactoryOptions extends BackendStoreFactoryOptions {
  /** The directory holding one LevelDB directory per store (`<path>/<storeId>`); created if missing. */
  path: string;
  /**
   * Overrides of the default limits: 16 MiB payloads; chunks of at most 10,000 records and
   * 32 MiB of payload and metadata (each chunk is one synchronous LevelDB batch).
   */
  limits?: Partial<BackendLimits>;
}

const DEFAULT_LIMITS: BackendLimits = {
  maxPayloadBytes: 16 * 1024 * 1024,
  maxChunkRecords: 10_000,
  maxChunkBytes: 32 * 1024 * 1024,
};

function codeOf(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  return typeof cause?.code === "string" ? cause.code : typeof code === "string" ? code : undefined;
}

/** Whether `name` is a store id as `newStore` names directories (lower-case). */
function isStoreId(name: string): boolean {
  try {
    return validateStoreId(name) === name;
  } catch {
    return false;
  }
}

/**
 * Stores in embedded LevelDB databases (through `classic-level`): one directory per store under
 * `path`. Each chunk is validated against the segment's head and written to both indexes, the
 * head and the inventory in one synchronous batch, so a process killed at any moment loses no
 * acknowledged chunk and leaves no partial one. One process at a time may open a store: another
 * gets `StoreLocked`.
 *
 * @example
 * ```ts ignore
 * import { LevelStoreFactory } from "@streamkit/level";
 * await using factory = new LevelStoreFactory({ path: "./.streamkit-data" });
 * await using store = await factory.newStore("0f8fad5b-d9cb-469f-a165-70867728950e");
 * const head = await store.getSegmentStatus("orders", "order-1");
 * const sequence = (head?.lastSequence ?? 0) + 1;
 * const payload = new TextEncoder().encode('{"placed":true}');
 * for await (const status of store.produce({ space: "orders", segment: "order-1" }, [{ sequence, payload }])) {
 *   console.log(`committed up to ${status.lastSequence}`);
 * }
 * ```
 */
export class LevelStoreFactory extends BackendStoreFactory {
  #path: string;
  #limits: BackendLimits;

  /** Checks the options; throws `InvalidArgument` for a missing `path` or bad limits. */
  constructor(options: LevelStoreFactoryOptions) {
    super(options);
    if (typeof options?.path !== "string" || options.path.length === 0) {
      throw new StreamkitError("InvalidArgument", "path: must be a non-empty directory path");
    }
    this.#path = options.path;
    this.#limits = resolveLimits(DEFAULT_LIMITS, options.limits);
  }

  /**
   * The ids of the stores under `path`, in ascending order: its subdirectories named by a store
   * id (a lower-case UUID, as `newStore` creates them); none when `path` does not exist. Other
   * files and directories there are ignored.
   *
   * @example
   * ```ts ignore
   * import { LevelStoreFactory } from "@streamkit/level";
   * await using factory = new LevelStoreFactory({ path: "./.streamkit-data" });
   * for (const storeId of await factory.listStores()) console.log(storeId);
   * ```
   */
  async listStores(options: ReadOptions = {}): Promise<StoreId[]> {
    options.signal?.throwIfAborted();
    let items;
    try {
      items = await readdir(this.#path, { withFileTypes: true });
    } catch (error) {
      if (codeOf(error) === "ENOENT") return [];
      throw new StreamkitError("Unavailable", `could not list the stores in ${this.#path}`, {
        cause: error,
      });
    }
    return items.filter((item) => item.isDirectory() && isStoreId(item.name))
      .map((item) => item.name).sort();
  }

  /** Opens (creating) the LevelDB directory `<path>/<storeId>`. */
  protected async openBackend(storeId: StoreId): Promise<StoreBackend> {
    const location = join(this.#path, storeId);
    await mkdir(this.#path, { recursive: true });
    const db: LevelDatabase = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    try {
      await db.open({ createIfMissing: true });
    } catch (error) {
      const code = codeOf(error);
      if (code === "LEVEL_LOCKED") {
        throw new StreamkitError(
          "StoreLocked",
          `store ${storeId} is locked: ${location} is open in another process or another factory (LevelDB allows one opener per directory)`,
          { cause: error },
        );
      }
      if (code === "LEVEL_CORRUPTION") {
        throw new StreamkitError("CorruptData", `store ${storeId} at ${location} is corrupt`, {
          cause: error,
        });
      }
      throw new StreamkitError("Unavailable", `store ${storeId} at ${location} did not open`, {
        cause: error,
      });
    }
    return new LevelBackend(db, this.#limits);
  }
}
