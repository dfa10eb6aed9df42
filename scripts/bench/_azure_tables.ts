/**
 * Azure Table Storage as the two Azure contestants ("azure", "data-tables") use it: a table
 * client configured as the driver's, and the rows the driver writes (its table layout),
 * precomputed for the raw reference.
 *
 * @module
 */

import { TableClient } from "@azure/data-tables";
import { compressEntry } from "../../core/zstd.ts";
import {
  segmentPartition,
  sequenceRow,
  spacePartition,
  spaceRow,
} from "../../drivers/azure/_test_support.ts";
import { entryChunks, SPACE } from "./_workload.ts";

/**
 * Records per chunk: `store.limits.maxChunkRecords` of the Azure driver (one entity group
 * transaction holds at most 100 operations; the driver adds its head row).
 *
 * @example
 * ```ts ignore
 * const chunks = Math.ceil(5_000 / AZURE_CHUNK_RECORDS); // 56
 * ```
 */
export const AZURE_CHUNK_RECORDS = 90;

/**
 * Rows per query page: the driver's page size, and the most Azure returns in one answer.
 *
 * @example
 * ```ts ignore
 * client.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: AZURE_PAGE_SIZE });
 * ```
 */
export const AZURE_PAGE_SIZE = 1_000;

/**
 * A table client configured as the driver's (http allowed for Azurite, no SDK retries).
 *
 * @example
 * ```ts ignore
 * const client = tableClient(connectionString, `${tablePrefix}raw`);
 * ```
 */
export function tableClient(connectionString: string, table: string): TableClient {
  return TableClient.fromConnectionString(connectionString, table, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
}

/**
 * An entity as the raw reference hands it to the SDK: the entry's compressed bytes in `v0`
 * (every 256-byte entry fits one binary property).
 *
 * @example
 * ```ts ignore
 * const action: TransactionAction = ["create", row];
 * ```
 */
export type EntryEntity =
  & { partitionKey: string; rowKey: string; v0: Uint8Array }
  & Record<string, unknown>;

/**
 * One chunk of a segment, precomputed: its rows in the segment partition and in the space
 * partition, sharing the same `compressEntry` bytes (as the driver stores them).
 *
 * @example
 * ```ts ignore
 * for (const chunk of chunks) await client.submitTransaction(chunk.segmentRows.map(create));
 * ```
 */
export interface AzureChunk {
  segmentRows: EntryEntity[];
  spaceRows: EntryEntity[];
}

/**
 * The entry rows the driver writes for a segment, precomputed: per chunk of at most
 * {@linkcode AZURE_CHUNK_RECORDS} entries, each entry's segment row and space row (one shard)
 * with its `compressEntry` bytes.
 *
 * @example
 * ```ts ignore
 * const chunks = prepareAzureRows("segment-0", payloads); // payloads: 5,000
 * console.log(chunks.length); // 56
 * ```
 */
export function prepareAzureRows(segment: string, payloads: Uint8Array[]): AzureChunk[] {
  const segmentRowsPartition = segmentPartition(SPACE, segment);
  const spaceRowsPartition = spacePartition(SPACE);
  const chunks: AzureChunk[] = [];
  for (const entries of entryChunks(segment, payloads, AZURE_CHUNK_RECORDS)) {
    const chunk: AzureChunk = { segmentRows: [], spaceRows: [] };
    for (const entry of entries) {
      // A buffer of its own, as the driver copies it: the SDK encodes a view's whole buffer.
      const v0 = compressEntry(entry).slice();
      chunk.segmentRows.push({
        partitionKey: segmentRowsPartition,
        rowKey: sequenceRow(entry.sequence),
        v0,
      });
      chunk.spaceRows.push({
        partitionKey: spaceRowsPartition,
        rowKey: spaceRow(entry.timestamp, segment, entry.sequence),
        v0,
      });
    }
    chunks.push(chunk);
  }
  return chunks;
}
