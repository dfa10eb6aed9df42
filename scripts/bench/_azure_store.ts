/**
 * The Azure driver's store as the benchmark opens it (a factory and the store
 * {@linkcode STORE_ID} on a place's tables), the data of a read scenario written through it,
 * and where it put a space's rows: the shard partitions its layout row records, which the raw
 * reference of a read through the simulator queries.
 *
 * @module
 */

import type { TableClient } from "@azure/data-tables";
import type { Store } from "../../core/mod.ts";
import { AzureStoreFactory, type AzureStoreFactoryOptions } from "../../drivers/azure/mod.ts";
import {
  LAYOUT_ROW,
  SETTINGS_PARTITION,
  spacePartitions,
} from "../../drivers/azure/_test_support.ts";
import type { Places, ScenarioArgs } from "./_contestant.ts";
import { produceSegments, segmentRecords } from "./_streamkit_store.ts";
import { type Read, SEGMENTS_WRITTEN, SPACE, STORE_ID } from "./_workload.ts";

/**
 * Runs `body` on the store {@linkcode STORE_ID} of a factory on `place`'s tables (created if
 * missing), with `options` added to the factory's; closes both after.
 *
 * @example
 * ```ts ignore
 * await withAzureStore(place, (store) => produceSegments(store, records), { spaceShards: 8 });
 * ```
 */
export async function withAzureStore<T>(
  { tablePrefix, connectionString }: Places["azure"],
  body: (store: Store) => Promise<T>,
  options: Partial<AzureStoreFactoryOptions> = {},
): Promise<T> {
  await using factory = new AzureStoreFactory({
    connectionString,
    allowInsecureHttp: true,
    tablePrefix,
    ...options,
  });
  await using store = await factory.newStore(STORE_ID);
  return await body(store);
}

/**
 * Writes the data of a read scenario through the driver (its default options): the entries
 * split over the segments the read needs, the segments concurrently.
 *
 * @example
 * ```ts ignore
 * await writeReadData({ entries: 5_000, seed: DEFAULT_SEED, tablePrefix, connectionString }, "space");
 * ```
 */
export async function writeReadData(args: ScenarioArgs<"azure">, read: Read): Promise<void> {
  const records = segmentRecords(args.entries, SEGMENTS_WRITTEN[read], args.seed);
  await withAzureStore(args, (store) => produceSegments(store, records));
}

/**
 * The partitions of the benchmark's space in the store's table that `client` names: one per
 * shard, as many as the table's layout row records.
 *
 * @example
 * ```ts ignore
 * const partitions = await spaceShardPartitions(tableClient(connectionString, table));
 * ```
 */
export async function spaceShardPartitions(client: TableClient): Promise<string[]> {
  const layout = await client.getEntity<{ spaceShards: string }>(SETTINGS_PARTITION, LAYOUT_ROW);
  const shards = Number(layout.spaceShards);
  if (!Number.isSafeInteger(shards) || shards < 1) {
    throw new Error(`the layout row says spaceShards ${layout.spaceShards}`);
  }
  return spacePartitions(SPACE, shards);
}
