// The fanout of committed chunks: their space rows and the inventory, written by their own
// commit or by whoever completes a head's pending fanout (PROTOCOL.md I5).

import { odata } from "@azure/data-tables";
import { type BatchAction, MAX_TRANSACTION_OPERATIONS } from "./_batch.ts";
import type { CommitStep, CommitStepHook } from "./_commit_hooks.ts";
import {
  entryOf,
  nameRow,
  type Row,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  SPACE_INVENTORY_PARTITION,
  spacePartition,
  spaceRow,
  spaceShardOf,
} from "./_entities.ts";
import type { AzureTable } from "./_table.ts";

/** The sequences and timestamp of the chunks a fanout writes (one chunk, or several). */
export interface FanoutRange {
  firstSequence: number;
  lastSequence: number;
  timestamp: number;
}

/** Writes the fanouts of one table. */
export class FanoutWriter {
  readonly #table: AzureTable;
  /** Shards of the space index (see {@linkcode spaceShardOf}). */
  readonly #spaceShards: number;
  readonly #afterStep: CommitStepHook | undefined;

  constructor(table: AzureTable, spaceShards: number, afterStep: CommitStepHook | undefined) {
    this.#table = table;
    this.#spaceShards = spaceShards;
    this.#afterStep = afterStep;
  }

  /** The space index partition of `segment`'s rows. */
  spacePartitionOf(space: string, segment: string): string {
    const shards = this.#spaceShards;
    return spacePartition(space, spaceShardOf(segment, shards), shards);
  }

  /**
   * Writes committed chunks' space rows and inventory; idempotent (same rows, same bytes).
   * `rows` are the space rows when the caller has them (its own chunk, which `createsSegment`
   * or not); otherwise they are rebuilt from the segment partition (`range` may then span
   * several chunks) and the inventory is written in any case.
   */
  async complete(
    space: string,
    segment: string,
    range: FanoutRange,
    rows?: { spaceRows: Row[]; createsSegment: boolean },
  ): Promise<void> {
    const spaceRows = rows?.spaceRows ?? [];
    if (!rows) {
      const partition = segmentPartition(space, segment);
      const filter = odata`PartitionKey eq ${partition} and RowKey ge ${
        sequenceRow(range.firstSequence)
      } and RowKey le ${sequenceRow(range.lastSequence)}`;
      for await (const row of this.#table.rows(filter)) {
        const entry = entryOf(row);
        spaceRows.push({
          ...row,
          partitionKey: this.spacePartitionOf(space, segment),
          rowKey: spaceRow(entry.timestamp, segment, entry.sequence),
          etag: undefined,
        });
      }
    }
    for (let at = 0; at < spaceRows.length; at += MAX_TRANSACTION_OPERATIONS) {
      const batch = spaceRows.slice(at, at + MAX_TRANSACTION_OPERATIONS).map(
        (row): BatchAction => {
          const { etag: _etag, ...entity } = row;
          return { kind: "upsert", row: entity as Row };
        },
      );
      await this.#table.submit(batch, "write space rows");
    }
    await this.#step("space-rows");
    if (rows?.createsSegment !== false) {
      await this.#table.upsert(
        { partitionKey: SPACE_INVENTORY_PARTITION, rowKey: nameRow(space), name: space },
        "write the space inventory",
      );
      await this.#table.upsert(
        {
          partitionKey: segmentInventoryPartition(space),
          rowKey: nameRow(segment),
          name: segment,
        },
        "write the segment inventory",
      );
    }
    await this.#step("inventory");
  }

  async #step(step: CommitStep): Promise<void> {
    await this.#afterStep?.(step);
  }
}
