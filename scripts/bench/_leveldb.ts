/**
 * LevelDB as the two level contestants ("level", "classic-level") use it: the writes the level
 * driver makes for a segment, precomputed for the raw reference; the options every raw
 * database opens with; and the compaction done before a timed read.
 *
 * @module
 */

import { ClassicLevel } from "classic-level";
import { encodeEntry, type SegmentStatus } from "../../core/mod.ts";
import {
  segmentEntryKey,
  segmentInventoryKey,
  segmentStatusKey,
  spaceEntryKey,
  spaceInventoryKey,
} from "../../core/driver.ts";
import { encodeHead } from "../../drivers/level/_test_support.ts";
import { entryChunks, SPACE } from "./_workload.ts";

/** Records per chunk: `store.limits.maxChunkRecords` of the level driver. */
const LEVEL_CHUNK_RECORDS = 10_000;

/**
 * One chunk of writes, precomputed: keys and values in batch order.
 *
 * @example
 * ```ts ignore
 * for (const { keys, values } of chunks) keys.forEach((key, i) => batch.put(key, values[i]));
 * ```
 */
export interface PreparedChunk {
  keys: Uint8Array[];
  values: Uint8Array[];
}

/**
 * The writes the level driver makes for a segment, precomputed for a raw reference: per chunk
 * of at most {@linkcode LEVEL_CHUNK_RECORDS} entries, each entry's segment-index and space-index
 * keys with its `encodeEntry` bytes, then the status key with the head, and on the first chunk
 * the two inventory keys.
 *
 * @example
 * ```ts ignore
 * const chunks = prepareSegmentWrites("segment-0", payloads); // payloads: 20,000
 * console.log(chunks.length); // 2
 * ```
 */
export function prepareSegmentWrites(segment: string, payloads: Uint8Array[]): PreparedChunk[] {
  const prepared: PreparedChunk[] = [];
  let firstTimestamp = 0;
  for (const entries of entryChunks(segment, payloads, LEVEL_CHUNK_RECORDS)) {
    const { timestamp, trx, sequence: lastSequence } = entries[entries.length - 1];
    if (trx.number === 1) firstTimestamp = timestamp;
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    for (const entry of entries) {
      // A buffer of its own: encodeEntry's result may be a view into a shared slab.
      const value = encodeEntry(entry).slice();
      keys.push(segmentEntryKey(SPACE, segment, entry.sequence));
      values.push(value);
      keys.push(spaceEntryKey(SPACE, timestamp, segment, entry.sequence));
      values.push(value);
    }
    const status: SegmentStatus = {
      space: SPACE,
      segment,
      firstSequence: 1,
      firstTimestamp,
      lastSequence,
      lastTimestamp: timestamp,
    };
    keys.push(segmentStatusKey(SPACE, segment));
    values.push(encodeHead({ status, trxNumber: trx.number }));
    if (trx.number === 1) {
      keys.push(spaceInventoryKey(SPACE), segmentInventoryKey(SPACE, segment));
      values.push(new Uint8Array(0), new Uint8Array(0));
    }
    prepared.push({ keys, values });
  }
  return prepared;
}

/**
 * Options every raw classic-level database of the benchmark opens with.
 *
 * @example
 * ```ts ignore
 * const db = new ClassicLevel<Uint8Array, Uint8Array>(location, LEVEL_OPEN_OPTIONS);
 * ```
 */
export const LEVEL_OPEN_OPTIONS = { keyEncoding: "view", valueEncoding: "view" } as const;

/**
 * Compacts the whole LevelDB directory `location` and closes it, so a timed read starts from
 * the same settled files for every contestant instead of racing background compactions.
 *
 * @example
 * ```ts ignore
 * await compactLevel(join(dir, STORE_ID)); // before a timed read
 * ```
 */
export async function compactLevel(location: string): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, LEVEL_OPEN_OPTIONS);
  await db.open();
  try {
    await db.compactRange(new Uint8Array([0x00]), new Uint8Array(64).fill(0xff));
  } finally {
    await db.close();
  }
}
