/**
 * The benchmark's contestant "azure": streamkit's Azure Table Storage driver through the public
 * `Store` API, on the Azurite the orchestrator started. Run by `scripts/bench.ts`, one scenario
 * per process, each on tables of its own (a fresh table prefix). Produce: a warm-up pass, then
 * timed passes, each into a store on fresh tables (the median pass counts). Reads: a setup
 * process writes the data, the timed process reads it in warm-up and timed passes.
 *
 * @module
 */

import type { ProduceRecord, Store } from "../../core/mod.ts";
import { AzureStoreFactory, azureTableName } from "../../drivers/azure/mod.ts";
import {
  AZURE_PASSES,
  type AzureChildArgs,
  type AzureScenarioRun,
  medianPass,
  runAzureContestant,
  tableClient,
} from "./_azure_shared.ts";
import {
  CONCURRENT_SEGMENTS,
  expectCount,
  makePayloads,
  PAYLOAD_BYTES,
  segmentNames,
  SPACE,
  splitEntries,
  STORE_ID,
  timed,
} from "./_shared.ts";

async function withStore<T>(
  args: AzureChildArgs,
  tablePrefix: string,
  body: (store: Store) => Promise<T>,
): Promise<T> {
  await using factory = new AzureStoreFactory({
    connectionString: args.connectionString,
    allowInsecureHttp: true,
    tablePrefix,
  });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

function recordsOf(payloads: Uint8Array[]): ProduceRecord[] {
  return payloads.map((payload, i) => ({ sequence: i + 1, payload }));
}

async function produceAll(store: Store, segment: string, records: Iterable<ProduceRecord>) {
  for await (const _status of store.produce({ space: SPACE, segment }, records)) {
    // Each committed chunk yields its status; the loop drives the writes.
  }
}

/** The records of `entries` payloads, split over `segments` segments. */
function prepare(entries: number, segments: number, seed: number): ProduceRecord[][] {
  const payloads = makePayloads(entries, seed);
  const { counts, offsets } = splitEntries(entries, segments);
  return segmentNames(segments).map((_, s) =>
    recordsOf(payloads.slice(offsets[s], offsets[s] + counts[s]))
  );
}

/** Writes the records of each segment, the segments concurrently. */
async function produceSegments(store: Store, records: ProduceRecord[][]): Promise<void> {
  const names = segmentNames(records.length);
  await Promise.all(names.map((segment, s) => produceAll(store, segment, records[s])));
}

/** Each pass produces every entry into a store on fresh tables, dropped after the pass. */
function produce(segments: number): AzureScenarioRun {
  return {
    measure: async (args) => {
      const records = prepare(args.entries, segments, args.seed);
      return await medianPass("produce", args.entries, AZURE_PASSES.produce, async (pass) => {
        const tablePrefix = `${args.tablePrefix}p${pass}`;
        const { seconds } = await withStore(
          args,
          tablePrefix,
          (store) => timed(() => produceSegments(store, records)),
        );
        await tableClient(args, azureTableName(tablePrefix, STORE_ID)).deleteTable();
        return { seconds, count: args.entries };
      });
    },
  };
}

async function countEntries(entries: AsyncIterable<{ payload: Uint8Array }>): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const entry of entries) {
    count++;
    bytes += entry.payload.length;
  }
  expectCount("payload bytes", bytes, count * PAYLOAD_BYTES);
  return count;
}

function consume(what: "segment" | "space"): AzureScenarioRun {
  const segments = what === "segment" ? 1 : CONCURRENT_SEGMENTS;
  return {
    setup: async (args) => {
      const records = prepare(args.entries, segments, args.seed);
      await withStore(args, args.tablePrefix, (store) => produceSegments(store, records));
    },
    measure: (args) =>
      withStore(
        args,
        args.tablePrefix,
        (store) =>
          medianPass(`consume ${what}`, args.entries, AZURE_PASSES.read, async () => {
            const { seconds, value: count } = await timed(() =>
              countEntries(
                what === "segment"
                  ? store.consumeSegment({ space: SPACE, segment: segmentNames(1)[0] })
                  : store.consumeSpace({ space: SPACE }),
              )
            );
            return { seconds, count };
          }),
      ),
  };
}

if (import.meta.main) {
  await runAzureContestant("azure", {
    "azure.produce.1seg": produce(1),
    "azure.produce.8seg": produce(CONCURRENT_SEGMENTS),
    "azure.consumeSegment": consume("segment"),
    "azure.consumeSpace": consume("space"),
  });
}
