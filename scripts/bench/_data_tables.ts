/**
 * The benchmark's reference "data-tables": raw `@azure/data-tables` on the same Azurite doing
 * the least the driver's job needs. Writes: the entries' rows in the segment partition only
 * (one index), as entity group transactions of the driver's chunk size (90 `create`s) into one
 * partition per segment, the segments written concurrently; the entities (keys and the
 * `compressEntry` bytes in `v0`, as the driver stores them) are precomputed before the clock
 * starts, since this stands for the library alone. Reads: `listEntities` pages of the driver's
 * page size over the same rows (the segment partition, or the space partition), with the
 * driver's filter shape, decoding nothing. Run by `scripts/bench.ts`, one scenario per process,
 * each on tables of its own, with the driver's warm-up and timed passes.
 *
 * @module
 */

import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { i64, toHex } from "../../core/mod.ts";
import {
  AZURE_CHUNK_RECORDS,
  AZURE_PAGE_SIZE,
  AZURE_PASSES,
  type AzureChildArgs,
  type AzureChunk,
  type AzureScenarioRun,
  type EntryEntity,
  medianPass,
  prepareAzureRows,
  runAzureContestant,
  segmentPartitionKey,
  sequenceRowKey,
  spacePartitionKey,
  tableClient,
} from "./_azure_shared.ts";
import {
  CONCURRENT_SEGMENTS,
  makePayloads,
  PAYLOAD_BYTES,
  segmentNames,
  SPACE,
  splitEntries,
  timed,
} from "./_shared.ts";

/** The table `name`, created if missing; the client is configured as the driver's. */
async function openTable(args: AzureChildArgs, name: string): Promise<TableClient> {
  const client = tableClient(args, name);
  await client.createTable();
  return client;
}

function prepare(entries: number, segments: number, seed: number): AzureChunk[][] {
  const payloads = makePayloads(entries, seed);
  const { counts, offsets } = splitEntries(entries, segments);
  return segmentNames(segments).map((segment, s) =>
    prepareAzureRows(
      segment,
      payloads.slice(offsets[s], offsets[s] + counts[s]),
      AZURE_CHUNK_RECORDS,
    )
  );
}

function creates(rows: EntryEntity[]): TransactionAction[] {
  return rows.map((row): TransactionAction => ["create", row]);
}

/** Submits each transaction of a partition in turn. */
async function submitAll(client: TableClient, transactions: TransactionAction[][]) {
  for (const actions of transactions) await client.submitTransaction(actions);
}

/** Each pass writes every entity into a fresh table, dropped after the pass. */
function produce(segments: number): AzureScenarioRun {
  return {
    measure: async (args) => {
      const transactions = prepare(args.entries, segments, args.seed).map((chunks) =>
        chunks.map((chunk) => creates(chunk.segmentRows))
      );
      return await medianPass("produce", args.entries, AZURE_PASSES.produce, async (pass) => {
        const client = await openTable(args, `${args.tablePrefix}raw${pass}`);
        const { seconds } = await timed(() =>
          Promise.all(transactions.map((partition) => submitAll(client, partition)))
        );
        await client.deleteTable();
        return { seconds, count: args.entries };
      });
    },
  };
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
  if (bytes <= count * PAYLOAD_BYTES) throw new Error("values shorter than their payloads");
  return count;
}

function consume(what: "segment" | "space"): AzureScenarioRun {
  const segments = what === "segment" ? 1 : CONCURRENT_SEGMENTS;
  const table = (args: AzureChildArgs) => `${args.tablePrefix}raw`;
  return {
    // The table holds the rows the driver's holds, written the way the driver writes them:
    // per chunk, the segment rows created in one transaction, then the space rows upserted
    // (Replace) in another, the segments concurrently. (Azurite answers queries over upserted
    // rows measurably slower than over created ones; the same rows make the same reads.)
    setup: async (args) => {
      const client = await openTable(args, table(args));
      const prepared = prepare(args.entries, segments, args.seed);
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
    measure: async (args) => {
      const client = tableClient(args, table(args));
      const filter = what === "segment"
        ? odata`PartitionKey eq ${segmentPartitionKey(SPACE, segmentNames(1)[0])} and RowKey ge ${
          sequenceRowKey(1)
        } and RowKey le ${sequenceRowKey(Number.MAX_SAFE_INTEGER)}`
        : odata`PartitionKey eq ${spacePartitionKey(SPACE)} and RowKey gt ${""} and RowKey lt ${
          toHex(i64(Date.now() + 1).bytes)
        }`;
      return await medianPass(`consume ${what}`, args.entries, AZURE_PASSES.read, async () => {
        const { seconds, value: count } = await timed(() => countRows(client, filter));
        return { seconds, count };
      });
    },
  };
}

if (import.meta.main) {
  await runAzureContestant("data-tables", {
    "azure.produce.1seg": produce(1),
    "azure.produce.8seg": produce(CONCURRENT_SEGMENTS),
    "azure.consumeSegment": consume("segment"),
    "azure.consumeSpace": consume("space"),
  });
}
