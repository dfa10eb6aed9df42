// Damage made straight in a driver's storage, bypassing the driver: LevelDB through
// classic-level on the store's directory, an Azure table through @azure/data-tables. The tests
// that prove a check can fail (kill_audit_test.ts, verify_test.ts) damage stores with it.

import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { segmentEntryKey, segmentInventoryKey, spaceEntryKey } from "../core/driver.ts";
import { encodeEntry, type Entry } from "../core/mod.ts";
import {
  compressForRow,
  entryRow,
  nameRow,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  spacePartition,
  spaceRow,
} from "../drivers/azure/_entities.ts";
import { directTable } from "./_azure_inspect.ts";

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
      await table.deleteEntity(spacePartition(entry.space), spaceRowOf(entry));
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
      const row = entryRow(spacePartition(entry.space), spaceRowOf(entry), compressForRow(entry));
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
