// The Azure driver's StoreBackend over one table: heads, commits and recovery wired together,
// the read bound of a space, scans and listings (see PROTOCOL.md).

import { odata } from "@azure/data-tables";
import { type Entry, StreamkitError, toHex } from "@streamkit/core";
import {
  type BackendLimits,
  type ChunkCommit,
  type ChunkCover,
  type MetaKind,
  type MetaRecord,
  type MetaWrite,
  type SegmentHead,
  type SegmentRange,
  type SharedBackend,
  spaceIndexPrefix,
  type SpaceRange,
  type StoreBackend,
} from "@streamkit/core/driver";
import { MetaRecords } from "./_azure_meta.ts";
import { ChunkCommitter } from "./_commit.ts";
import type { CommitStepHook } from "./_commit_hooks.ts";
import {
  CLOCK_ROW_PREFIX,
  entryOf,
  MARKER_PARTITION,
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
import { TableClock } from "./_table_clock.ts";

/** What the backend needs besides its table. */
export interface AzureBackendSettings {
  limits: BackendLimits;
  /** Other processes' pending markers are resolved once this old by the table's time (I12). */
  abandonedMarkerMs: number;
  /** How far this process's clock may be from the table's time (I15). */
  maxClockSkewMs: number;
  /** Shards of the space index, as the table records them. */
  spaceShards: number;
  /** Fault injection for tests (see _commit_hooks.ts). */
  afterCommitStep: CommitStepHook | undefined;
  /** Set only in tests that show what goes wrong without the table's time (I6, I13). */
  ownClock: (() => number) | undefined;
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
    coverChunk: (chunk) => this.#coverChunk(chunk),
    spaceReadBound: (space, signal) => this.#spaceReadBound(space, signal),
    readHeadForWrite: (space, segment) => this.#readHeadForWrite(space, segment),
    finishWrites: (space, segment) => this.#committer.drainSegment(space, segment),
  };
  readonly #table: AzureTable;
  readonly #committer: ChunkCommitter;
  readonly #recovery: Recovery;
  readonly #spaceShards: number;
  readonly #tableClock = new TableClock();
  /** The row this process writes to learn the table's time when it has written no marker. */
  readonly #clockRow = `${CLOCK_ROW_PREFIX}${crypto.randomUUID()}`;
  readonly #ownClock: (() => number) | undefined;
  readonly #meta: MetaRecords;

  constructor(table: AzureTable, settings: AzureBackendSettings) {
    const { spaceShards, abandonedMarkerMs, maxClockSkewMs, afterCommitStep, ownClock } = settings;
    const fanout = new FanoutWriter(table, spaceShards, afterCommitStep);
    this.#table = table;
    this.#committer = new ChunkCommitter(
      table,
      fanout,
      this.#tableClock,
      maxClockSkewMs,
      afterCommitStep,
      ownClock,
    );
    this.#spaceShards = spaceShards;
    this.#recovery = new Recovery(
      table,
      this.#committer,
      fanout,
      abandonedMarkerMs,
      (signal) => this.#tableNow(signal),
    );
    this.limits = settings.limits;
    this.#ownClock = settings.ownClock;
    this.#meta = new MetaRecords(table);
  }

  /**
   * A lower bound of the table's time now: from this process's latest write to the marker
   * partition, or, when it has none lately, from a write of its clock row made now (I13).
   */
  async #tableNow(signal?: AbortSignal): Promise<number> {
    const known = this.#tableClock.lowerBound();
    if (known !== undefined) return known;
    signal?.throwIfAborted();
    const etag = await this.#table.upsert(
      { partitionKey: MARKER_PARTITION, rowKey: this.#clockRow },
      "learn the table's time",
    );
    if (this.#tableClock.note(etag) === undefined) {
      throw new StreamkitError(
        "Unavailable",
        "the table's answer to a write carried no time (ETag); cannot bound reads",
      );
    }
    return this.#tableClock.lowerBound()!;
  }

  /** Under a marker before the chunk is stamped (I3); see {@linkcode ChunkCommitter.cover}. */
  #coverChunk(chunk: ChunkCover): Promise<number> {
    return this.#committer.cover(chunk);
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
    const head = await this.#table.readHeadRow(space, segment);
    if (head && head.status.lastSequence === 0) {
      // A fence row: no entries, and the segment's first commit replaces it (I12).
      this.#committer.noteEmptyHead(space, segment, head.etag);
      return undefined;
    }
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
  async #spaceReadBound(space: string, signal?: AbortSignal): Promise<number> {
    // Taken before the marker query is sent: a marker it misses is written later, and the chunk
    // it covers is stamped at or after that write's table time (I3, I13).
    const now = this.#ownClock?.() ?? await this.#tableNow(signal);
    const [own, others] = await Promise.all([
      this.#committer.ownPendingTimestamp(space),
      this.#recovery.oldestPendingTimestamp(space, now, signal),
    ]);
    let bound = now - 1;
    if (own !== undefined) bound = Math.min(bound, own - 1);
    if (others !== undefined) bound = Math.min(bound, others - 1);
    return bound;
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

  /** A checkpoint or lease, from the table's `meta` partition (I16). */
  getMeta(kind: MetaKind, name: string, signal?: AbortSignal): Promise<MetaRecord | undefined> {
    return this.#meta.get(kind, name, signal);
  }

  /** One entity group transaction of the `meta` partition, If-Match each version (I16). */
  putMeta(writes: readonly MetaWrite[], signal?: AbortSignal): Promise<boolean> {
    return this.#meta.put(writes, signal);
  }

  /** The names of a kind's records, keys only (I16). */
  listMeta(kind: MetaKind, signal?: AbortSignal): AsyncIterable<string> {
    return this.#meta.list(kind, signal);
  }

  /** Waits for the work behind every commit, then stops the sweep. */
  async close(): Promise<void> {
    await this.#committer.drainAll();
    await this.#recovery.close();
  }
}
