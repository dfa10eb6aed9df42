// The sharded space index of the Azure driver (drivers/azure/PROTOCOL.md I1): the shard count a
// table records once, what a table without the record reads as, processes racing to create a
// store agreeing on it, rows spread over the shards, reads merging them in offset order.

import assert from "node:assert/strict";
import type { TableClient } from "@azure/data-tables";
import { compareKeys, type Entry, spaceOffset, type Store, StreamkitError } from "../core/mod.ts";
import type { AzureStoreFactory, AzureStoreFactoryOptions } from "../drivers/azure/mod.ts";
import {
  type Azurite,
  LAYOUT_ROW,
  SETTINGS_PARTITION,
  spacePartition,
  spacePartitions,
  spaceShardOf,
  startAzurite,
} from "../drivers/azure/_test_support.ts";
import { collect } from "../core/_test_util.ts";
import { directTable } from "./_azure_inspect.ts";
import { azuriteFactory, produceNumbered } from "./_azure_test_store.ts";

const PREFIX = "shards";
const SPACE = "orders";

// One Azurite for the file; it fails loudly if it cannot start, and exits with this process.
const azurite: Azurite = await startAzurite();
globalThis.addEventListener("unload", () => void azurite.stop());

function factory(options: Partial<AzureStoreFactoryOptions> = {}): AzureStoreFactory {
  return azuriteFactory(azurite, PREFIX, options);
}

function produce(store: Store, segment: string, from: number, count: number) {
  return produceNumbered(store, SPACE, segment, from, count);
}

/** Row counts of the table's partitions, read with the SDK directly. */
async function partitionSizes(table: TableClient): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const row of table.listEntities()) {
    sizes.set(row.partitionKey!, (sizes.get(row.partitionKey!) ?? 0) + 1);
  }
  return sizes;
}

async function layoutRow(table: TableClient): Promise<Record<string, unknown> | undefined> {
  try {
    return await table.getEntity(SETTINGS_PARTITION, LAYOUT_ROW);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** `entries` sorted by their space offset: the order consumeSpace must keep. */
function byOffset(entries: Entry[]): Entry[] {
  return [...entries].sort((a, b) => compareKeys(spaceOffset(a), spaceOffset(b)));
}

function coordinates(entries: Entry[]): string[] {
  return entries.map((entry) => `${entry.segment}#${entry.sequence}@${entry.timestamp}`);
}

Deno.test("azure shards: spaceShards is checked, naming the option and its limits", () => {
  for (const bad of [0, 33, -1, 1.5, Number.NaN, "4"]) {
    assert.throws(
      () => factory({ spaceShards: bad as number }),
      (error: unknown) =>
        error instanceof StreamkitError && error.kind === "InvalidArgument" &&
        /^spaceShards: /.test(error.message) && /1 to 32|non-negative/.test(error.message),
      `spaceShards ${String(bad)}`,
    );
  }
});

Deno.test("azure shards: a new store records its count; later factories keep it whatever they ask", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  {
    await using creating = factory({ spaceShards: 8 });
    const store = await creating.newStore(storeId);
    assert.equal((await layoutRow(table))?.spaceShards, "8");
    const segments = Array.from({ length: 32 }, (_, i) => `seg-${i}`);
    for (const segment of segments) await produce(store, segment, 1, 3);
    const sizes = await partitionSizes(table);
    const shards = spacePartitions(SPACE, 8);
    // 32 segments hash onto every one of the 8 shards, each row where its segment's hash says.
    for (const [shard, partition] of shards.entries()) {
      const expected = segments.filter((segment) => spaceShardOf(segment, 8) === shard).length * 3;
      assert.ok(expected > 0, `no segment hashes to shard ${shard}`);
      assert.equal(sizes.get(partition) ?? 0, expected, `rows of shard ${shard}`);
    }
    assert.equal(sizes.get(spacePartition(SPACE)), undefined, "nothing in the 1-shard partition");
  }
  // Another factory asking for 2 (and one asking for 1) reads and writes the 8 shards.
  for (const asked of [2, 1]) {
    await using later = factory({ spaceShards: asked });
    const store = await later.newStore(storeId);
    const partition = spacePartition(SPACE, spaceShardOf(`late-${asked}`, 8), 8);
    const before = (await partitionSizes(table)).get(partition) ?? 0;
    await produce(store, `late-${asked}`, 1, 2);
    assert.equal((await partitionSizes(table)).get(partition), before + 2, "the recorded layout");
    const timeline = await collect(store.consumeSpace({ space: SPACE }));
    assert.equal(timeline.length, 32 * 3 + 2 * (asked === 2 ? 1 : 2));
    assert.deepEqual(coordinates(timeline), coordinates(byOffset(timeline)), "offset order");
  }
  assert.equal((await layoutRow(table))?.spaceShards, "8", "the record never changes");
});

Deno.test("azure shards: a table without the record reads as one shard", async () => {
  const storeId = crypto.randomUUID();
  const table = directTable(azurite.connectionString, PREFIX, storeId);
  {
    await using old = factory({ spaceShards: 1 });
    const store = await old.newStore(storeId);
    for (const segment of ["a", "b", "c"]) await produce(store, segment, 1, 100);
  }
  // What a table of the earlier layout looks like: the same rows, and no layout record.
  await table.deleteEntity(SETTINGS_PARTITION, LAYOUT_ROW);
  const before = await partitionSizes(table);
  assert.equal(before.get(spacePartition(SPACE)), 300, "the one space partition");

  await using current = factory({ spaceShards: 4 });
  const store = await current.newStore(storeId);
  assert.equal(await layoutRow(table), undefined, "opening records nothing");
  const timeline = await collect(store.consumeSpace({ space: SPACE }));
  assert.equal(timeline.length, 300);
  assert.deepEqual(coordinates(timeline), coordinates(byOffset(timeline)));
  await produce(store, "a", 101, 150);
  await produce(store, "d", 1, 10);
  const after = await partitionSizes(table);
  assert.equal(after.get(spacePartition(SPACE)), 460, "new rows go where the old ones are");
  for (const partition of spacePartitions(SPACE, 4)) assert.equal(after.get(partition), undefined);
  assert.equal((await collect(store.consumeSpace({ space: SPACE }))).length, 460);
  assert.deepEqual(await collect(store.getSegments(SPACE)), ["a", "b", "c", "d"]);
});

Deno.test("azure shards: factories racing to create a store agree on one count", async () => {
  for (let round = 0; round < 5; round++) {
    const storeId = crypto.randomUUID();
    const table = directTable(azurite.connectionString, PREFIX, storeId);
    const asks = [1, 2, 3, 4, 6, 8];
    const factories = asks.map((spaceShards) => factory({ spaceShards }));
    try {
      // Each opens the store and writes at once: whoever records first, nobody writes rows of
      // another layout (a table with rows and no record would read as one shard).
      await Promise.all(factories.map(async (racer, i) => {
        const store = await racer.newStore(storeId);
        await produce(store, `w${i}`, 1, 95);
      }));
      const recorded = Number((await layoutRow(table))?.spaceShards);
      assert.ok(asks.includes(recorded), `recorded ${recorded}`);
      const sizes = await partitionSizes(table);
      const expected = spacePartitions(SPACE, recorded);
      const spaceRows = [...sizes].filter(([partition]) =>
        partition.startsWith(spacePartition(SPACE))
      );
      for (const [partition] of spaceRows) {
        assert.ok(expected.includes(partition), `round ${round}: a row outside the layout`);
      }
      assert.equal(spaceRows.reduce((sum, [, rows]) => sum + rows, 0), asks.length * 95);
      // Every factory reads all of it, merged in offset order.
      for (const racer of factories) {
        const timeline = await collect((await racer.newStore(storeId)).consumeSpace({
          space: SPACE,
        }));
        assert.equal(timeline.length, asks.length * 95);
        assert.deepEqual(coordinates(timeline), coordinates(byOffset(timeline)));
      }
    } finally {
      await Promise.all(factories.map((racer) => racer.close()));
    }
  }
});

Deno.test("azure shards: consumeSpace across shards resumes from any offset, with limits and bounds", async () => {
  const storeId = crypto.randomUUID();
  await using sharded = factory({ spaceShards: 5 });
  const store = await sharded.newStore(storeId);
  const segments = ["a", "ab", "b", "z \u{1F680}", "seg/1", "seg#2", "x", "y"];
  // Interleaved produces: timestamps shared between segments, rows of one millisecond spread
  // over several shards.
  for (let round = 0; round < 6; round++) {
    await Promise.all(segments.map((segment) => produce(store, segment, 1 + round * 40, 40)));
  }
  const all = await collect(store.consumeSpace({ space: SPACE }));
  assert.equal(all.length, segments.length * 240);
  assert.deepEqual(coordinates(all), coordinates(byOffset(all)));
  // Pages of 333 from each previous page's last offset give the same timeline.
  const paged: Entry[] = [];
  let offset: Uint8Array | undefined;
  while (true) {
    const page = await collect(store.consumeSpace({ space: SPACE, offset, limit: 333 }));
    if (page.length === 0) break;
    paged.push(...page);
    offset = spaceOffset(page[page.length - 1]);
  }
  assert.deepEqual(coordinates(paged), coordinates(all));
  // Timestamp bounds (min exclusive, max inclusive) cut the merged timeline, not each shard.
  const middle = all[Math.floor(all.length / 2)].timestamp;
  const bounded = await collect(
    store.consumeSpace({ space: SPACE, minTimestamp: all[0].timestamp, maxTimestamp: middle }),
  );
  assert.deepEqual(
    coordinates(bounded),
    coordinates(all.filter((e) => e.timestamp > all[0].timestamp && e.timestamp <= middle)),
  );
  // One entry at a time, from each offset: the next one in the merged order.
  for (let i = 0; i < all.length; i += 97) {
    const [next] = await collect(
      store.consumeSpace({ space: SPACE, offset: spaceOffset(all[i]), limit: 1 }),
    );
    assert.deepEqual(coordinates([next]), coordinates([all[i + 1]]));
  }
});

Deno.test("azure shards: a corrupt layout record fails newStore with CorruptData", async () => {
  for (const spaceShards of ["0", "33", "two"]) {
    const storeId = crypto.randomUUID();
    const table = directTable(azurite.connectionString, PREFIX, storeId);
    await table.createTable();
    await table.createEntity({ partitionKey: SETTINGS_PARTITION, rowKey: LAYOUT_ROW, spaceShards });
    await using opening = factory();
    await assert.rejects(
      opening.newStore(storeId),
      (error: unknown) =>
        error instanceof StreamkitError && error.kind === "CorruptData" &&
        error.message.includes(`spaceShards ${spaceShards}`),
    );
  }
});
