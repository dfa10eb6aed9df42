// The Azure driver's StoreBackend over one table: heads, commits and recovery wired together,
// the read bound of a space, scans and listings (see PROTOCOL.md).

import { odata } from "@azure/data-tables";
import { type Entry, StreamkitError, toHex } from "@streamkit/core";
import {
  type BackendLimits,
  type ChunkCommit,
  type SegmentHead,
  type SegmentRange,
  type SharedBackend,
  spaceIndexPrefix,
  type SpaceRange,
  type StoreBackend,
} from "@streamkit/core/driver";
import { ChunkCommitter } from "./_commit.ts";
import type { CommitStepHook } from "./_commit_hooks.ts";
import {
  entryOf,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  SPACE_INVENTORY_PARTITION,
  spacePartitions,
} from "./_entities.ts";
import { FanoutWriter } from "./_fanout.ts";
import { mergeByRowKey } from "./_merge_rows.ts";
import { Recovery } from "./_recovery.ts";
import type { AzureTable } from "./_table.ts";

/** What the backend needs besides its table. */
export interface AzureBackendSettings {
  limits: BackendLimits;
  /** A marker whose commit never happened is deleted once it is this old. */
  abandonedMarkerMs: number;
  /** Shards of the space index, as the table records them. */
  spaceShards: number;
  /** Fault injection for tests (see _commit_hooks.ts). */
  afterCommitStep: CommitStepHook | undefined;
}

/** Inventory and space row keys are hex; `g` sorts after every hex digit. */
const HEX_DIGIT_LIMIT = "g";

/** Whether `key` begins with `prefix`. */
function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && prefix.every((byte, i) => key[i] === byte);
}

/** A {@linkcode StoreBackend} over one Azure table. */
export class AzureBackend implements StoreBackend {
  readonly limits: BackendLimits;
  /** Every process with the table's credentials may commit to it. */
  readonly shared: SharedBackend = {
    spaceReadBound: (space, signal) => this.#spaceReadBound(space, signal),
    readHeadForWrite: (space, segment) => this.#readHeadForWrite(space, segment),
    finishWrites: (space, segment) => this.#committer.drainSegment(space, segment),
  };
  readonly #table: AzureTable;
  readonly #committer: ChunkCommitter;
  readonly #recovery: Recovery;
  readonly #spaceShards: number;

  constructor(table: AzureTable, settings: AzureBackendSettings) {
    const { spaceShards, abandonedMarkerMs, afterCommitStep } = settings;
    const fanout = new FanoutWriter(table, spaceShards, afterCommitStep);
    this.#table = table;
    this.#committer = new ChunkCommitter(table, fanout, abandonedMarkerMs, afterCommitStep);
    this.#spaceShards = spaceShards;
    this.#recovery = new Recovery(table, this.#committer, fanout, abandonedMarkerMs);
    this.limits = settings.limits;
  }

  /** The head as this backend's last commit left it, if remembered (I9); else `readHead`. */
  #readHeadForWrite(space: string, segment: string): Promise<SegmentHead | undefined> {
    const last = this.#committer.lastCommit(space, segment);
    return last
      ? Promise.resolve({ ...last, status: { ...last.status } })
      : this.readHead(space, segment);
  }

  /** The segment's head, once the fanout it marks as pending is complete (I10). */
  async readHead(space: string, segment: string): Promise<SegmentHead | undefined> {
    const head = await this.#table.readHead(space, segment);
    if (!head?.pending) return head;
    // The mark of this backend's own last commit: its pipeline does that fanout (I9).
    if (this.#committer.lastCommit(space, segment)?.pending?.trxId === head.pending.trxId) {
      return head;
    }
    await this.#recovery.completePendingFanout(space, segment, head);
    return await this.readHead(space, segment);
  }

  /** Resolves at the commit point; the fanout follows behind (I7). */
  commit(chunk: ChunkCommit): Promise<void> {
    return this.#committer.commit(chunk);
  }

  /** Completes or abandons what writers left unfinished (see {@linkcode Recovery.recover}). */
  recover(): Promise<void> {
    return this.#recovery.recover();
  }

  /** Runs {@linkcode AzureBackend.recover} every `intervalMs` until `close()`. */
  startSweep(intervalMs: number): void {
    this.#recovery.startSweep(intervalMs);
  }

  async *scanSegment(
    space: string,
    segment: string,
    range: SegmentRange,
    signal?: AbortSignal,
  ): AsyncIterable<Entry> {
    const filter = odata`PartitionKey eq ${segmentPartition(space, segment)} and RowKey ge ${
      sequenceRow(range.minSequence)
    } and RowKey le ${sequenceRow(range.maxSequence)}`;
    for await (const page of this.#table.pages(filter, signal, range.limit)) {
      for (const row of page) yield entryOf(row);
    }
  }

  /**
   * Just below the oldest chunk of `space` that may still become visible in the space index
   * (I13): of other writers, the oldest pending marker; of this backend, after waiting for the
   * fanout of what it committed before the call, its oldest chunk still committing or owed.
   */
  async #spaceReadBound(space: string, signal?: AbortSignal): Promise<number | undefined> {
    const [own, others] = await Promise.all([
      this.#committer.ownPendingTimestamp(space),
      this.#recovery.oldestPendingTimestamp(space, signal),
    ]);
    const oldest = own === undefined || (others !== undefined && others < own) ? others : own;
    return oldest === undefined ? undefined : oldest - 1;
  }

  /**
   * One query per shard of the space index, merged by row key (the hex of the space offset's
   * tail, so in offset order); a request per page of 1,000 rows (one per shard in all with
   * `range.limit` 1, as a follower's probe asks). It reads up to `range.lt` and no further: core
   * puts the read bound there.
   */
  async *scanSpace(space: string, range: SpaceRange, signal?: AbortSignal): AsyncIterable<Entry> {
    const prefix = spaceIndexPrefix(space);
    // A bound outside the prefix is an end of the space: the start, or the end (every row key is
    // hex, below `g`).
    const lower = startsWith(range.gt, prefix) ? toHex(range.gt.subarray(prefix.length)) : "";
    const upper = startsWith(range.lt, prefix)
      ? toHex(range.lt.subarray(prefix.length))
      : HEX_DIGIT_LIMIT;
    const shards = spacePartitions(space, this.#spaceShards).map((partition) =>
      this.#table.pages(
        odata`PartitionKey eq ${partition} and RowKey gt ${lower} and RowKey lt ${upper}`,
        signal,
        range.limit,
      )
    );
    const pages = shards.length === 1 ? shards[0] : mergeByRowKey(shards);
    let count = 0;
    for await (const page of pages) {
      for (const row of page) {
        yield entryOf(row);
        if (range.limit > 0 && ++count >= range.limit) return;
      }
    }
  }

  async *listSpaces(signal?: AbortSignal): AsyncIterable<string> {
    yield* this.#names(SPACE_INVENTORY_PARTITION, signal);
  }

  async *listSegments(space: string, signal?: AbortSignal): AsyncIterable<string> {
    yield* this.#names(segmentInventoryPartition(space), signal);
  }

  async *#names(partition: string, signal?: AbortSignal): AsyncIterable<string> {
    const filter = odata`PartitionKey eq ${partition} and RowKey lt ${HEX_DIGIT_LIMIT}`;
    for await (const row of this.#table.rows(filter, signal)) {
      if (typeof row.name !== "string") {
        throw new StreamkitError("CorruptData", `inventory row ${row.rowKey} has no name`);
      }
      yield row.name;
    }
  }

  /** Waits for the work behind every commit, then stops the sweep. */
  async close(): Promise<void> {
    await this.#committer.drainAll();
    await this.#recovery.close();
  }
}
