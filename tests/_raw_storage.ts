// Damage made straight in a driver's storage, bypassing the driver: LevelDB through
// classic-level on the store's directory, an Azure table through @azure/data-tables. The tests
// that prove a check can fail (kill_audit_test.ts, verify_test.ts) damage stores with it.

import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { segmentEntryKey, segmentInventoryKey, spaceEntryKey } from "../core/driver.ts";
import { encodeEntry, type Entry, type Store, type StoreFactory } from "../core/mod.ts";
import { AzureStoreFactory } from "../drivers/azure/mod.ts";
import {
  compressForRow,
  entryRow,
  nameRow,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  spaceRow,
  startAzurite,
} from "../drivers/azure/_test_support.ts";
import { LevelStoreFactory } from "../drivers/level/mod.ts";
import { directTable, spacePartitionOf } from "./_azure_inspect.ts";

/** Writes straight to a driver's storage. */
export interface RawStorage extends AsyncDisposable {
  deleteFromSpaceIndex(entry: Entry): Promise<void>;
  deleteFromSegmentIndex(entry: Entry): Promise<void>;
  deleteFromSegmentInventory(space: string, segment: string): Promise<void>;
  /** Stores `entry` in the space index under its key, encoded as the driver stores it. */
  putInSpaceIndex(entry: Entry): Promise<void>;
  /**
   * Stores `entry`, encoded as the driver stores it, in the segment index under the key of
   * sequence `at` of its segment.
   */
  putInSegmentIndex(entry: Entry, at: number): Promise<void>;
}

/** The LevelDB database of `storeId` under `path`, opened directly with classic-level. */
export async function levelStorage(path: string, storeId: string): Promise<RawStorage> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(path, storeId), {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open({ createIfMissing: false });
  const spaceKey = (entry: Entry) =>
    spaceEntryKey(entry.space, entry.timestamp, entry.segment, entry.sequence);
  // The driver stores the plain encoding; a copy, as the encoding may be a pooled view.
  const value = (entry: Entry) => encodeEntry(entry).slice();
  return {
    deleteFromSpaceIndex: (entry) => db.del(spaceKey(entry)),
    deleteFromSegmentIndex: (entry) =>
      db.del(segmentEntryKey(entry.space, entry.segment, entry.sequence)),
    deleteFromSegmentInventory: (space, segment) => db.del(segmentInventoryKey(space, segment)),
    putInSpaceIndex: (entry) => db.put(spaceKey(entry), value(entry)),
    putInSegmentIndex: (entry, at) =>
      db.put(segmentEntryKey(entry.space, entry.segment, at), value(entry)),
    [Symbol.asyncDispose]: () => db.close(),
  };
}

/** The table of `storeId`, reached directly through @azure/data-tables. */
export function azureStorage(
  connectionString: string,
  tablePrefix: string,
  storeId: string,
): RawStorage {
  const table = directTable(connectionString, tablePrefix, storeId);
  const spaceRowOf = (entry: Entry) => spaceRow(entry.timestamp, entry.segment, entry.sequence);
  return {
    deleteFromSpaceIndex: async (entry) => {
      await table.deleteEntity(
        await spacePartitionOf(table, entry.space, entry.segment),
        spaceRowOf(entry),
      );
    },
    deleteFromSegmentIndex: async (entry) => {
      await table.deleteEntity(
        segmentPartition(entry.space, entry.segment),
        sequenceRow(entry.sequence),
      );
    },
    deleteFromSegmentInventory: async (space, segment) => {
      await table.deleteEntity(segmentInventoryPartition(space), nameRow(segment));
    },
    putInSpaceIndex: async (entry) => {
      const row = entryRow(
        await spacePartitionOf(table, entry.space, entry.segment),
        spaceRowOf(entry),
        compressForRow(entry),
      );
      await table.upsertEntity(row, "Replace");
    },
    putInSegmentIndex: async (entry, at) => {
      const partition = segmentPartition(entry.space, entry.segment);
      await table.upsertEntity(
        entryRow(partition, sequenceRow(at), compressForRow(entry)),
        "Replace",
      );
    },
    // A TableClient holds nothing to release.
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/** One driver's storage for a damage test: factories over it, and a store's raw storage. */
export interface DamageTarget {
  /** A new factory over the storage, with chunks of at most the target's chunk size. */
  openFactory(): StoreFactory;
  openStorage(storeId: string): Promise<RawStorage>;
}

/** Runs `body` on LevelDB in a new directory, removed afterwards. */
export async function withLevelTarget(
  maxChunkRecords: number,
  body: (target: DamageTarget) => Promise<void>,
): Promise<void> {
  const path = await Deno.makeTempDir({ prefix: "streamkit-damage-" });
  try {
    await body({
      openFactory: () => new LevelStoreFactory({ path, limits: { maxChunkRecords } }),
      openStorage: (storeId) => levelStorage(path, storeId),
    });
  } finally {
    await Deno.remove(path, { recursive: true });
  }
}

/** Runs `body` on a new Azurite, stopped afterwards (if it cannot start, this fails). */
export async function withAzureTarget(
  maxChunkRecords: number,
  body: (target: DamageTarget) => Promise<void>,
): Promise<void> {
  const azurite = await startAzurite();
  try {
    const { connectionString } = azurite;
    const tablePrefix = "damage";
    await body({
      openFactory: () =>
        new AzureStoreFactory({
          connectionString,
          allowInsecureHttp: true,
          tablePrefix,
          // No background sweep: nothing but the test's own reads touches the table.
          sweepIntervalMs: 0,
          limits: { maxChunkRecords },
        }),
      openStorage: (storeId) =>
        Promise.resolve(azureStorage(connectionString, tablePrefix, storeId)),
    });
  } finally {
    await azurite.stop();
  }
}

/**
 * Runs `body` on the store `storeId` of a new factory, closing the factory afterwards: each call
 * opens the store afresh, as a process does after a kill.
 */
export async function withStoreOfNewFactory<T>(
  openFactory: () => StoreFactory,
  storeId: string,
  body: (store: Store) => Promise<T>,
): Promise<T> {
  const factory = openFactory();
  try {
    return await body(await factory.newStore(storeId));
  } finally {
    await factory.close();
  }
}
