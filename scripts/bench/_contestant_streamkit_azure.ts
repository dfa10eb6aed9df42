/**
 * The benchmark's contestant "azure": streamkit's Azure Table Storage driver through the public
 * `Store` API, on the Azurite the orchestrator started, on tables of its own (a fresh table
 * prefix per scenario). Produce: warm-up and timed passes, each into a store on fresh tables.
 * Reads: a setup process writes the data, the timed process reads it in warm-up and timed
 * passes. The median timed pass counts. Follow latency: a writer and a follower on two factory
 * instances (two processes, as far as the store can tell: the follower learns of commits only
 * by polling), with a poll interval of {@linkcode FOLLOW_POLL_INTERVAL_MS}.
 *
 * @module
 */

import type { Store } from "../../core/mod.ts";
import { AzureStoreFactory, azureTableName } from "../../drivers/azure/mod.ts";
import {
  type Contestant,
  medianPass,
  medianReadPass,
  PASSES,
  type Places,
  timed,
} from "./_contestant.ts";
import { tableClient } from "./_azure_tables.ts";
import {
  consumed,
  countEntries,
  followLatency,
  produceSegments,
  segmentRecords,
} from "./_streamkit_store.ts";
import { SEGMENTS_WRITTEN, STORE_ID } from "./_workload.ts";

/** The follower's longest wait between polls while idle, in milliseconds. */
const FOLLOW_POLL_INTERVAL_MS = 250;

async function withStore<T>(
  { tablePrefix, connectionString }: Places["azure"],
  body: (store: Store) => Promise<T>,
): Promise<T> {
  await using factory = new AzureStoreFactory({
    connectionString,
    allowInsecureHttp: true,
    tablePrefix,
  });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

/**
 * Streamkit's Azure driver.
 *
 * @example
 * ```ts ignore
 * await contestant.produce(8).measure({ entries: 500, seed: DEFAULT_SEED, tablePrefix, connectionString });
 * ```
 */
export const contestant: Contestant<"azure"> = {
  driver: "azure",
  // Each pass produces every entry into a store on fresh tables, dropped after the pass.
  produce: (segments) => ({
    measure: async ({ entries, seed, tablePrefix, connectionString }) => {
      const records = segmentRecords(entries, segments, seed);
      return await medianPass("produce", entries, PASSES.azureProduce, async (pass) => {
        const place = { tablePrefix: `${tablePrefix}p${pass}`, connectionString };
        const { seconds } = await withStore(
          place,
          (store) => timed(() => produceSegments(store, records)),
        );
        await tableClient(connectionString, azureTableName(place.tablePrefix, STORE_ID))
          .deleteTable();
        return { seconds, count: entries };
      });
    },
  }),
  consume: (read) => ({
    setup: async (args) => {
      const records = segmentRecords(args.entries, SEGMENTS_WRITTEN[read], args.seed);
      await withStore(args, (store) => produceSegments(store, records));
    },
    measure: (args) =>
      withStore(
        args,
        (store) =>
          medianReadPass(read, args.entries, PASSES.azureRead, () =>
            countEntries(consumed(store, read))),
      ),
  }),
  followLatency: (samples) => ({
    measure: (args) =>
      withStore(args, (writer) =>
        withStore(
          args,
          (follower) =>
            followLatency(writer, follower, samples, args.seed, FOLLOW_POLL_INTERVAL_MS),
        )),
  }),
};
