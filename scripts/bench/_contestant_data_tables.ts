/**
 * The benchmark's reference "data-tables": raw `@azure/data-tables` on the same Azurite doing
 * the least the driver's job needs. Writes: the entries' rows in the segment partition only
 * (one index), as entity group transactions of the driver's chunk size (90 `create`s) into one
 * partition per segment, the segments written concurrently; the entities (keys and the
 * `compressEntry` bytes in `v0`, as the driver stores them) are precomputed before the clock
 * starts, since this stands for the library alone. Reads: `listEntities` pages of the driver's
 * page size over the same rows (the segment partition, or the space partition), with the
 * driver's filter shape, decoding nothing. Each scenario runs on tables of its own, with the
 * driver's warm-up and timed passes. Through the Azure simulator, as jobs the "azure"
 * contestant times pass by pass beside its own in one process: the same produce, and the space
 * read over the rows the driver itself wrote, one query per shard partition.
 *
 * @module
 */

import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { i64, toHex } from "../../core/mod.ts";
import {
  type ComparedJob,
  type Contestant,
  expectStoredBytes,
  medianPass,
  medianReadPass,
  PASSES,
  type ScenarioArgs,
  timed,
} from "./_contestant.ts";
import {
  AZURE_PAGE_SIZE,
  type AzureChunk,
  type EntryEntity,
  prepareAzureRows,
  tableClient,
} from "./_azure_tables.ts";
import { azureTableName } from "../../drivers/azure/mod.ts";
import {
  segmentPartition,
  sequenceRow,
  spacePartition,
} from "../../drivers/azure/_test_support.ts";
import { spaceShardPartitions } from "./_azure_store.ts";
import type { SimulatedPasses } from "./_simulated_passes.ts";
import type { Simulator } from "./_simulator.ts";
import { READ_SEGMENT, segmentPayloads, SEGMENTS_WRITTEN, SPACE, STORE_ID } from "./_workload.ts";

/** The table `name`, created if missing; the client is configured as the driver's. */
async function openTable(connectionString: string, name: string): Promise<TableClient> {
  const client = tableClient(connectionString, name);
  await client.createTable();
  return client;
}

function prepare(entries: number, segments: number, seed: number): AzureChunk[][] {
  return segmentPayloads(entries, segments, seed).map(({ segment, payloads }) =>
    prepareAzureRows(segment, payloads)
  );
}

function creates(rows: EntryEntity[]): TransactionAction[] {
  return rows.map((row): TransactionAction => ["create", row]);
}

/** Submits each transaction of a partition in turn. */
async function submitAll(client: TableClient, transactions: TransactionAction[][]) {
  for (const actions of transactions) await client.submitTransaction(actions);
}

/** Counts the rows `filter` matches, page by page, checking only that values came back. */
async function countRows(client: TableClient, filter: string): Promise<number> {
  let count = 0;
  let bytes = 0;
  const pages = client.listEntities<{ v0: Uint8Array }>({ queryOptions: { filter } })
    .byPage({ maxPageSize: AZURE_PAGE_SIZE });
  for await (const page of pages) {
    count += page.length;
    for (let i = 0; i < page.length; i++) bytes += page[i].v0.byteLength;
  }
  expectStoredBytes(count, bytes);
  return count;
}

/** The driver's filter of a space read, on one partition: every row up to now. */
function spaceFilter(partition: string): string {
  return odata`PartitionKey eq ${partition} and RowKey gt ${""} and RowKey lt ${
    toHex(i64(Date.now() + 1).bytes)
  }`;
}

/** The table a read scenario writes and reads. */
function readTable(tablePrefix: string): string {
  return `${tablePrefix}raw`;
}

/**
 * Raw `@azure/data-tables`.
 *
 * @example
 * ```ts ignore
 * await contestant.consume("segment").measure({ entries: 500, seed: DEFAULT_SEED, tablePrefix, connectionString });
 * ```
 */
export const contestant: Contestant<"azure"> = {
  driver: "azure",
  // Each pass writes every entity into a fresh table, dropped after the pass.
  produce: (segments) => ({
    measure: async ({ entries, seed, tablePrefix, connectionString }) => {
      const transactions = prepare(entries, segments, seed).map((chunks) =>
        chunks.map((chunk) => creates(chunk.segmentRows))
      );
      return await medianPass("produce", entries, PASSES.azureProduce, async (pass) => {
        const client = await openTable(connectionString, `${tablePrefix}raw${pass}`);
        const { seconds } = await timed(() =>
          Promise.all(transactions.map((partition) => submitAll(client, partition)))
        );
        await client.deleteTable();
        return { seconds, count: entries };
      });
    },
  }),
  consume: (read) => ({
    // The table holds the rows the driver's holds, written the way the driver writes them:
    // per chunk, the segment rows created in one transaction, then the space rows upserted
    // (Replace) in another, the segments concurrently. (Azurite answers queries over upserted
    // rows measurably slower than over created ones; the same rows make the same reads.)
    setup: async ({ entries, seed, tablePrefix, connectionString }) => {
      const client = await openTable(connectionString, readTable(tablePrefix));
      const prepared = prepare(entries, SEGMENTS_WRITTEN[read], seed);
      await Promise.all(prepared.map(async (chunks) => {
        for (const chunk of chunks) {
          await client.submitTransaction(creates(chunk.segmentRows));
          await client.submitTransaction(
            chunk.spaceRows.map((row): TransactionAction => ["upsert", row, "Replace"]),
          );
        }
      }));
    },
    // The driver's filters: a sequence range of the segment, a row range of the space.
    measure: async ({ entries, tablePrefix, connectionString }) => {
      const client = tableClient(connectionString, readTable(tablePrefix));
      const filter = read === "segment"
        ? odata`PartitionKey eq ${segmentPartition(SPACE, READ_SEGMENT)} and RowKey ge ${
          sequenceRow(1)
        } and RowKey le ${sequenceRow(Number.MAX_SAFE_INTEGER)}`
        : spaceFilter(spacePartition(SPACE));
      return await medianReadPass(read, entries, PASSES.azureRead, () => countRows(client, filter));
    },
  }),
};

/**
 * Raw `@azure/data-tables` producing through `simulator` as the reference of the driver's
 * produce in the same process (a {@linkcode ComparedJob}): each pass writes every row into a
 * fresh table (created and dropped outside the clock, which `passes` keeps with the counts of
 * the timed part), the partitions concurrently, each partition's transactions in turn. The
 * transactions are prepared now, before any clock starts.
 *
 * @example
 * ```ts ignore
 * const raw = simulatedProduceJob(args, 1, simulator, new SimulatedPasses(simulator));
 * ```
 */
export function simulatedProduceJob(
  { entries, seed, tablePrefix }: ScenarioArgs<"azure">,
  segments: number,
  simulator: Simulator,
  passes: SimulatedPasses,
): ComparedJob {
  const transactions = prepare(entries, segments, seed).map((chunks) =>
    chunks.map((chunk) => creates(chunk.segmentRows))
  );
  return {
    what: "produce (data-tables)",
    pass: async (index) => {
      const client = await openTable(simulator.connectionString, `${tablePrefix}raw${index}`);
      const { seconds } = await passes.timed(() =>
        Promise.all(transactions.map((partition) => submitAll(client, partition)))
      );
      await client.deleteTable();
      return { seconds, count: entries };
    },
  };
}

/**
 * Raw `@azure/data-tables` reading through `simulator` the very rows the driver's
 * `consumeSpace` reads, as its reference in the same process: the space's shard partitions in
 * the store's own table (as many as its layout row records, read now, before any clock: a
 * user of the raw library knows their partitions), queried all at once (as the driver does)
 * with the driver's filter, every row read; no merge, since a count needs none.
 *
 * @example
 * ```ts ignore
 * const raw = await simulatedSpaceReadJob(args, simulator, new SimulatedPasses(simulator));
 * ```
 */
export async function simulatedSpaceReadJob(
  { tablePrefix, connectionString }: ScenarioArgs<"azure">,
  simulator: Simulator,
  passes: SimulatedPasses,
): Promise<ComparedJob> {
  const table = azureTableName(tablePrefix, STORE_ID);
  const partitions = await spaceShardPartitions(tableClient(connectionString, table));
  const client = tableClient(simulator.connectionString, table);
  return {
    what: "consume space (data-tables)",
    pass: async () => {
      const { seconds, value } = await passes.timed(async () => {
        const counts = await Promise.all(
          partitions.map((partition) => countRows(client, spaceFilter(partition))),
        );
        return counts.reduce((total, count) => total + count, 0);
      });
      return { seconds, count: value };
    },
  };
}
