// Test support for the Azure crash and fault tests: direct looks at a store's table (pending
// markers, heads still owing a fanout), bypassing the driver, and an audit that both indexes of
// a space hold the same entries.

import assert from "node:assert/strict";
import { odata, TableClient } from "@azure/data-tables";
import { compareKeys, type Entry, entryDifferences, spaceOffset, type Store } from "../core/mod.ts";
import { collect } from "../core/_test_util.ts";
import { azureTableName } from "../drivers/azure/mod.ts";
import {
  CLOCK_ROW_PREFIX,
  entryOf,
  HEAD_ROW,
  LAYOUT_ROW,
  MARKER_PARTITION,
  type PendingFanout,
  sequenceRow,
  SETTINGS_PARTITION,
  spacePartition,
  spaceRow,
  spaceShardOf,
} from "../drivers/azure/_test_support.ts";

/** A client on the table of `storeId`, straight to Azurite (no driver, no proxy). */
export function directTable(
  connectionString: string,
  tablePrefix: string,
  storeId: string,
): TableClient {
  return TableClient.fromConnectionString(
    connectionString,
    azureTableName(tablePrefix, storeId),
    { allowInsecureConnection: true },
  );
}

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

async function rows(client: TableClient, filter: string): Promise<Row[]> {
  const all: Row[] = [];
  for await (
    const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })
  ) {
    all.push(row as Row);
  }
  return all;
}

/** The row keys of every pending marker in the table (not the processes' clock rows). */
export async function markerKeys(client: TableClient): Promise<string[]> {
  const found = await rows(client, odata`PartitionKey eq ${MARKER_PARTITION}`);
  return found.map((row) => row.rowKey).filter((key) => !key.startsWith(CLOCK_ROW_PREFIX));
}

/** Segment heads that still mark a chunk's fanout as pending: their partition and the mark. */
export async function pendingHeads(
  client: TableClient,
): Promise<{ partitionKey: string; pending: PendingFanout }[]> {
  const heads = await rows(client, odata`RowKey eq ${HEAD_ROW}`);
  return heads.filter((row) => typeof row.pending === "string" && row.pending !== "").map((
    row,
  ) => ({
    partitionKey: row.partitionKey,
    pending: JSON.parse(row.pending as string),
  }));
}

/**
 * Segment heads whose pending fanout is unfinished: its marker is still there, or one of the
 * chunk's entries is missing from the space index. A writer leaves the mark of a chunk whose
 * fanout it completed itself (the next commit replaces the head; other readers and recovery
 * repeat the idempotent fanout and clear it), so a mark alone is no leftover: after a clean run
 * or a recovery, the guarantee is that no mark owes anything.
 */
export async function unfinishedPendingHeads(
  client: TableClient,
): Promise<{ partitionKey: string; pending: PendingFanout }[]> {
  const markers = await markerKeys(client);
  const unfinished = [];
  for (const head of await pendingHeads(client)) {
    const { pending, partitionKey } = head;
    if (markers.some((key) => key.endsWith(pending.trxId.replaceAll("-", "")))) {
      unfinished.push(head);
      continue;
    }
    const entries = await rows(
      client,
      odata`PartitionKey eq ${partitionKey} and RowKey ge ${
        sequenceRow(pending.firstSequence)
      } and RowKey le ${sequenceRow(pending.lastSequence)}`,
    );
    let whole = entries.length === pending.lastSequence - pending.firstSequence + 1;
    for (const row of entries) {
      if (!whole) break;
      whole = await inSpaceIndex(client, entryOf(row));
    }
    if (!whole) unfinished.push(head);
  }
  return unfinished;
}

/** The shards of the table's space index, as its layout row records them (none: 1). */
export async function spaceShardsOf(client: TableClient): Promise<number> {
  try {
    const layout = await client.getEntity(SETTINGS_PARTITION, LAYOUT_ROW);
    return Number(layout.spaceShards);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    return 1;
  }
}

/** The space index partition that holds the rows of `segment`, in the table's layout. */
export async function spacePartitionOf(
  client: TableClient,
  space: string,
  segment: string,
): Promise<string> {
  const shards = await spaceShardsOf(client);
  return spacePartition(space, spaceShardOf(segment, shards), shards);
}

/** Whether the space index holds the row of `entry` (of which only the coordinates matter). */
export async function inSpaceIndex(
  client: TableClient,
  entry: Pick<Entry, "space" | "segment" | "timestamp" | "sequence">,
): Promise<boolean> {
  try {
    await client.getEntity(
      await spacePartitionOf(client, entry.space, entry.segment),
      spaceRow(entry.timestamp, entry.segment, entry.sequence),
    );
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    return false;
  }
}

/** `assert.ok` with a message built only on failure. */
export function expect(ok: boolean, message: () => string): asserts ok {
  if (!ok) assert.fail(message());
}

/**
 * Reads `space` through both indexes and asserts they hold exactly the same entries: the space
 * index in space-offset order, and per segment the segment index from sequence 1. Returns each
 * segment's entries (segment index order).
 */
export async function auditBothIndexes(
  store: Store,
  space: string,
  segments: readonly string[],
): Promise<Map<string, Entry[]>> {
  const bySegment = new Map<string, Entry[]>();
  for (const segment of segments) {
    bySegment.set(segment, await collect(store.consumeSegment({ space, segment })));
  }
  const timeline = await collect(store.consumeSpace({ space }));
  const cursor = new Map<string, number>(segments.map((segment) => [segment, 0]));
  let previous: Uint8Array | undefined;
  for (const entry of timeline) {
    const offset = spaceOffset(entry);
    expect(
      previous === undefined || compareKeys(previous, offset) < 0,
      () => `${space}/${entry.segment}#${entry.sequence}: space index out of order`,
    );
    previous = offset;
    const at = cursor.get(entry.segment);
    expect(at !== undefined, () => `space index holds unknown segment ${entry.segment}`);
    const twin = bySegment.get(entry.segment)![at];
    expect(
      twin !== undefined && entryDifferences(entry, twin).length === 0,
      () =>
        `${space}/${entry.segment}#${entry.sequence}: space index entry differs from the ` +
        `segment index's next (#${twin?.sequence}): ${
          twin && entryDifferences(entry, twin).join(", ")
        }`,
    );
    cursor.set(entry.segment, at + 1);
  }
  for (const segment of segments) {
    const entries = bySegment.get(segment)!;
    const at = cursor.get(segment)!;
    expect(
      at === entries.length,
      () =>
        `${space}/${segment}: the segment index has ${entries.length} entries, the space ` +
        `index ${at} (first missing: #${entries[at]?.sequence})`,
    );
  }
  return bySegment;
}
