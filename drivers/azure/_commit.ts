// The commit protocol, per chunk: a pending marker, one transaction with the chunk's rows and
// the head (the commit point), then the fanout (space rows, inventory) and the marker's removal.
//
// Commits pipeline per segment: `commit` resolves at the commit point (a segment's first chunk
// excepted: its inventory must be listed once produce acknowledges it), and the work behind it
// runs in two lanes while the segment's next chunks commit (at most MAX_OWED_CHUNKS ahead): the
// rows lane writes each chunk's space rows in order; the marker lane deletes the markers of
// chunks no longer owed. What keeps that safe:
// - Readers elsewhere stop below the oldest pending marker of the space. A chunk needs no marker
//   of its own while an earlier chunk of the segment that this writer still owes a fanout has a
//   fresh marker in the table: timestamps never decrease within a segment, so that marker holds
//   readers below the new chunk too, and settlers leave a committed chunk's marker alone while
//   it is young unless they cleared the head's mark (which fails the in-flight commit's
//   If-Match: its retry writes the chunk's own marker first). A marker is deleted only once the
//   oldest chunk still owed has a marker of its own (written for it by the marker lane).
// - Each commit's head marks as pending every chunk still owed a fanout (from the oldest), so
//   whoever completes the head's pending fanout (recovery, a head read elsewhere) completes them
//   all.
// - Readers in this process wait for the fanout of what was committed before their read, and
//   stop below what is still owed (`ownPendingTimestamp`).

import { odata } from "@azure/data-tables";
import { SequenceMismatchError, StreamkitError, type Trx } from "@streamkit/core";
import type { ChunkCommit } from "@streamkit/core/driver";
import type { BatchAction } from "./_batch.ts";
import type { CommitStep, CommitStepHook } from "./_commit_hooks.ts";
import {
  compressForRow,
  entryOf,
  entryRow,
  headRow,
  MARKER_PARTITION,
  markerRow,
  nameRow,
  type PendingFanout,
  type Row,
  segmentInventoryPartition,
  segmentPartition,
  sequenceRow,
  SPACE_INVENTORY_PARTITION,
  spacePartition,
  spaceRow,
  spaceShardOf,
  type StoredHead,
} from "./_entities.ts";
import { statusOf } from "./_requests.ts";
import type { AzureTable } from "./_table.ts";
import { FanoutOrder, type FanoutTicket } from "./_fanout_order.ts";

/**
 * The largest compressed entry a row may hold. Space rows are upserted, and an upsert's JSON
 * body (binary as base64) may not pass 1 MiB: about 786,000 raw bytes on Azurite.
 */
const MAX_ENTRY_VALUE_BYTES = 760 * 1024;
/** Operations of one entity group transaction: Azure allows 100. */
const MAX_TRANSACTION_OPERATIONS = 100;
/** Chunks of a segment committed and still owed a fanout, at most: the next commit waits. */
const MAX_OWED_CHUNKS = 4;
/** Segments whose last commit's head a committer remembers (oldest forgotten first). */
const MAX_REMEMBERED_HEADS = 10_000;
/**
 * Others settle a committed chunk's marker once it is this old (a live writer deletes its own
 * within a few round trips); a writer lets a marker cover later chunks while it is younger than
 * half of it.
 */
export const MARKER_SETTLE_MS = 2_000;

/** How long a committer remembers a marker it deleted: longer than any marker query takes. */
const DELETED_MARKERS_KEPT_MS = 60_000;

/** How a chunk's commit ended, for the work behind it. */
type Outcome =
  /** Its transaction applied: its fanout is owed. */
  | "committed"
  /** It certainly did not apply: nothing is owed, its marker goes. */
  | "failed"
  /** Unknown, or a simulated crash: the work behind it stops, as a crash would leave it. */
  | "stopped";

/** A chunk this committer is committing or still owes a fanout. */
interface OwedChunk {
  space: string;
  segment: string;
  trx: Trx;
  firstSequence: number;
  lastSequence: number;
  timestamp: number;
  spaceRows: Row[];
  /** The segment's first chunk: its fanout writes the inventory. */
  createsSegment: boolean;
  ticket: FanoutTicket;
  /** Its marker in the table: written before its commit, or passed on to it. */
  marker: { rowKey: string; createdAt: number } | undefined;
  /** Set once the commit applied. */
  committed: boolean;
  outcome: Promise<Outcome>;
  decide: (outcome: Outcome) => void;
  /** Resolves once the work behind it ended, fanned out or not. */
  done: Promise<void>;
  finish: () => void;
}

/** One segment's chunks in this committer, and the work behind them. */
interface SegmentPipeline {
  space: string;
  segment: string;
  partition: string;
  /** Chunks committing or owed a fanout, in commit order. */
  chunks: OwedChunk[];
  /** The fanouts (the rows lane), one after another. */
  work: Promise<void>;
  /** Markers of chunks no longer owed, to delete (see `#moveMarkers`). */
  retired: string[];
  /** The marker lane's run, while one is under way. */
  markerWork: Promise<void> | undefined;
  /** Set when that work failed: the chunks left are owed until a commit or a sweep repairs them. */
  failure: { error: unknown } | undefined;
  /** A repair under way. */
  repairing?: Promise<void>;
}

/** Takes `owed` out of the chunks its pipeline still owes. */
function forget(pipeline: SegmentPipeline, owed: OwedChunk): void {
  const at = pipeline.chunks.indexOf(owed);
  if (at >= 0) pipeline.chunks.splice(at, 1);
}

/** Commits chunks to one table and completes their fanout. */
export class ChunkCommitter {
  readonly #table: AzureTable;
  readonly #afterStep: CommitStepHook | undefined;
  /** Shards of the space index (see {@linkcode spaceShardOf}). */
  readonly #spaceShards: number;
  /** How long a marker may cover later chunks of its segment. */
  readonly #coverMs: number;
  /**
   * Segment partition → the head as this committer's last commit left it (ETag from the
   * commit's answer). Its pending mark stays (clearing it would cost two requests per chunk; the
   * next commit overwrites it): a head read of this process need not complete that fanout (the
   * pipeline does), and a writer need not read the head again. Other processes repeat the
   * fanout idempotently; a stale entry fails one commit (If-Match).
   */
  readonly #lastCommits = new Map<string, StoredHead>();
  readonly #fanoutOrder = new FanoutOrder();
  /** Segment partition → its pipeline, while it has chunks or a failure. */
  readonly #pipelines = new Map<string, SegmentPipeline>();
  /** Row keys of the markers this committer wrote and has not deleted. */
  readonly #ownMarkers = new Set<string>();
  /**
   * Markers this committer deleted lately, with when: a marker query answered before a delete
   * may still be read after it, and the marker must still count as this committer's then.
   */
  readonly #deletedMarkers = new Map<string, number>();

  constructor(
    table: AzureTable,
    spaceShards: number,
    abandonedMarkerMs: number,
    afterStep: CommitStepHook | undefined,
  ) {
    this.#table = table;
    this.#spaceShards = spaceShards;
    this.#coverMs = Math.min(MARKER_SETTLE_MS, abandonedMarkerMs) / 2;
    this.#afterStep = afterStep;
  }

  /** The head this committer's last commit to the segment left, if it still remembers it. */
  lastCommit(space: string, segment: string): StoredHead | undefined {
    return this.#lastCommits.get(segmentPartition(space, segment));
  }

  /** Whether `rowKey` is a marker of this committer, still in the table or being deleted. */
  ownsMarker(rowKey: string): boolean {
    return this.#ownMarkers.has(rowKey) || this.#deletedMarkers.has(rowKey);
  }

  /**
   * Waits for the fanout of this committer's chunks of `space` that had committed when called;
   * then the timestamp of its oldest chunk of the space still committing or owed a fanout.
   */
  async ownPendingTimestamp(space: string): Promise<number | undefined> {
    const pipelines = [...this.#pipelines.values()].filter((p) => p.space === space);
    await Promise.all(
      pipelines.flatMap((p) => p.chunks.filter((chunk) => chunk.committed)).map((c) => c.done),
    );
    let oldest: number | undefined;
    for (const pipeline of pipelines) {
      const first = pipeline.chunks[0];
      if (first && !(oldest !== undefined && oldest <= first.timestamp)) oldest = first.timestamp;
    }
    return oldest;
  }

  async #step(step: CommitStep): Promise<void> {
    await this.#afterStep?.(step);
  }

  /** The space index partition of `segment`'s rows. */
  #spacePartitionOf(space: string, segment: string): string {
    const shards = this.#spaceShards;
    return spacePartition(space, spaceShardOf(segment, shards), shards);
  }

  #pipelineOf(space: string, segment: string): SegmentPipeline {
    const partition = segmentPartition(space, segment);
    let pipeline = this.#pipelines.get(partition);
    if (!pipeline) {
      pipeline = {
        space,
        segment,
        partition,
        chunks: [],
        work: Promise.resolve(),
        retired: [],
        markerWork: undefined,
        failure: undefined,
      };
      this.#pipelines.set(partition, pipeline);
    }
    return pipeline;
  }

  /** Forgets a pipeline with nothing left to do. */
  #release(pipeline: SegmentPipeline): void {
    if (
      pipeline.chunks.length === 0 && pipeline.retired.length === 0 && !pipeline.failure &&
      !pipeline.markerWork
    ) {
      this.#pipelines.delete(pipeline.partition);
    }
  }

  /** The newest marker of a chunk the pipeline still owes, if young enough to cover another. */
  #cover(pipeline: SegmentPipeline): { rowKey: string; createdAt: number } | undefined {
    let newest: { rowKey: string; createdAt: number } | undefined;
    for (const chunk of pipeline.chunks) {
      if (chunk.marker && !(newest && newest.createdAt >= chunk.marker.createdAt)) {
        newest = chunk.marker;
      }
    }
    return newest && Date.now() - newest.createdAt < this.#coverMs ? newest : undefined;
  }

  /** The pending marker of `chunk`, recorded as its own and this committer's from now on. */
  #markerOf(chunk: OwedChunk): Row {
    const { trx, space, segment, firstSequence, lastSequence, timestamp } = chunk;
    const createdAt = Date.now();
    const row = markerRow(
      { trx, space, segment, firstSequence, lastSequence, timestamp, entries: [] },
      createdAt,
    );
    chunk.marker = { rowKey: row.rowKey, createdAt };
    this.#ownMarkers.add(row.rowKey);
    return row;
  }

  /** Writes the pending marker of `chunk` before its commit. */
  async #writeMarker(chunk: OwedChunk): Promise<void> {
    await this.#table.upsert(this.#markerOf(chunk), "write the pending marker");
  }

  async #deleteMarker(rowKey: string): Promise<void> {
    await this.#table.deleteMarker(rowKey);
    this.#markerDeleted(rowKey);
  }

  /**
   * Writes the marker of `to` (when given) and deletes `retired`, in one transaction of the
   * marker partition: the new marker is there exactly when the old ones go. If a settler
   * deleted one of them already, one request at a time instead (the new marker first).
   */
  async #passMarkers(to: OwedChunk | undefined, retired: string[]): Promise<void> {
    if (!to && retired.length === 1) return await this.#deleteMarker(retired[0]);
    const row = to && this.#markerOf(to);
    const actions: BatchAction[] = retired.map((rowKey) => ({
      kind: "delete",
      row: { partitionKey: MARKER_PARTITION, rowKey },
    }));
    if (row) actions.unshift({ kind: "upsert", row });
    try {
      await this.#table.submit(actions, "move a pending marker");
    } catch (error) {
      if (statusOf(error instanceof StreamkitError ? error.cause : error) !== 404) throw error;
      if (row) await this.#table.upsert(row, "write the pending marker");
      for (const rowKey of retired) await this.#table.deleteMarker(rowKey);
    }
    for (const rowKey of retired) this.#markerDeleted(rowKey);
  }

  #markerDeleted(rowKey: string): void {
    this.#ownMarkers.delete(rowKey);
    const now = Date.now();
    this.#deletedMarkers.set(rowKey, now);
    for (const [key, deletedAt] of this.#deletedMarkers) {
      if (now - deletedAt < DELETED_MARKERS_KEPT_MS) break;
      this.#deletedMarkers.delete(key);
    }
  }

  /**
   * Commits `chunk`: marker (unless an earlier chunk's covers it), then one transaction with its
   * rows and the head (If-Match on the head it was validated against). Resolves at that commit
   * point; the fanout follows behind (see {@linkcode ChunkCommitter.settle}). A writer that lost
   * the race gets `SequenceMismatch` (or a transient `Conflict`) and wrote no rows.
   */
  async commit(chunk: ChunkCommit): Promise<void> {
    const { space, segment, trx, timestamp, entries } = chunk;
    const values = entries.map(compressForRow);
    values.forEach((value, i) => {
      if (value.length > MAX_ENTRY_VALUE_BYTES) {
        throw new StreamkitError(
          "PayloadTooLarge",
          `records: the entry at sequence ${entries[i].sequence} takes ${value.length} bytes ` +
            `compressed, with its metadata and names; an Azure row holds at most ` +
            `${MAX_ENTRY_VALUE_BYTES} (limits.maxPayloadBytes counts the payload alone)`,
        );
      }
    });
    const pipeline = this.#pipelineOf(space, segment);
    while (pipeline.failure || pipeline.chunks.length >= MAX_OWED_CHUNKS) {
      if (pipeline.failure) await this.#repair(pipeline);
      // Commits run at most this far ahead of the space index (a throttled shard slows them).
      else await pipeline.chunks[0].done;
    }
    const firstSequence = entries[0].sequence;
    // The head marks every chunk still owed a fanout, from the oldest.
    const owedFrom = pipeline.chunks[0]?.firstSequence ?? firstSequence;
    const covered = this.#cover(pipeline) !== undefined;
    const spacePartition = this.#spacePartitionOf(space, segment);
    let decide!: (outcome: Outcome) => void;
    let finish!: () => void;
    const owed: OwedChunk = {
      space,
      segment,
      trx,
      firstSequence,
      lastSequence: entries[entries.length - 1].sequence,
      timestamp,
      spaceRows: entries.map((entry, i) =>
        entryRow(spacePartition, spaceRow(timestamp, segment, entry.sequence), values[i])
      ),
      createsSegment: chunk.head === undefined,
      ticket: this.#fanoutOrder.enter({ trxId: trx.id, timestamp, space, segment, firstSequence }),
      marker: undefined,
      committed: false,
      outcome: new Promise((resolve) => decide = resolve),
      decide,
      done: new Promise((resolve) => finish = resolve),
      finish,
    };
    pipeline.chunks.push(owed);
    pipeline.work = pipeline.work.then(() => this.#fanOut(pipeline, owed));
    // Under a marker already: chunks stamped after it need not wait for it.
    if (covered) this.#fanoutOrder.leave(owed.ticket);

    let outcome: Outcome = "stopped";
    try {
      if (!covered) {
        try {
          await this.#writeMarker(owed);
        } catch (error) {
          outcome = "failed";
          throw error;
        } finally {
          this.#fanoutOrder.leave(owed.ticket);
        }
        await this.#step("marker");
      }
      const result = await this.#commitPoint(chunk, pipeline, owed, owedFrom, values);
      if (result.lost) {
        outcome = "failed";
        throw result.lost;
      }
      owed.committed = true;
      await this.#step("commit");
      outcome = "committed";
    } catch (error) {
      // Cannot tell whether it applied, or a simulated crash: what is behind it stops here.
      if (outcome === "stopped") pipeline.failure ??= { error };
      throw error;
    } finally {
      // Nothing of it applied: the next chunk must not count on its marker.
      if (outcome === "failed") forget(pipeline, owed);
      this.#fanoutOrder.leave(owed.ticket);
      owed.decide(outcome);
    }
    // A segment's first chunk: its inventory must be there once produce acknowledges it.
    if (owed.createsSegment) await this.settle(space, segment);
  }

  /**
   * The transaction: the chunk's rows and its head, If-Match the head it was validated against.
   * Resolves `{}` once it applied, `{ lost }` when it certainly did not; throws when it cannot
   * tell.
   */
  async #commitPoint(
    chunk: ChunkCommit,
    pipeline: SegmentPipeline,
    owed: OwedChunk,
    owedFrom: number,
    values: Uint8Array[],
  ): Promise<{ lost?: unknown }> {
    const { space, segment, trx, timestamp, entries } = chunk;
    const partition = segmentPartition(space, segment);
    const first = owed.firstSequence;
    const pending: PendingFanout = {
      trxId: trx.id,
      trxNumber: trx.number,
      firstSequence: owedFrom,
      lastSequence: owed.lastSequence,
      timestamp,
    };
    const actions: BatchAction[] = entries.map((entry, i) => ({
      kind: "create",
      row: entryRow(partition, sequenceRow(entry.sequence), values[i]),
    }));
    const head = headRow(partition, { status: chunk.status, trxNumber: trx.number }, pending);
    actions.push(
      chunk.head
        ? { kind: "update", row: head, etag: String(chunk.head.version) }
        : { kind: "create", row: head },
    );
    this.#lastCommits.delete(partition);
    let ownMarkerNeeded = false;
    // A chunk under an earlier chunk's marker gets its own before an attempt once that marker is
    // old, or after a settler cleared the head's mark (it may have deleted the marker too).
    const beforeAttempt = async () => {
      if (!owed.marker && (ownMarkerNeeded || !this.#cover(pipeline))) {
        await this.#writeMarker(owed);
      }
    };
    let headEtag: string | undefined;
    for (let attempt = 1;; attempt++) {
      try {
        const etags = await this.#table.submit(actions, "commit a chunk", beforeAttempt);
        headEtag = etags.at(-1);
        break;
      } catch (error) {
        // An answer may have been lost after the commit happened: the first row says whose it is.
        if (await this.#table.committed(space, segment, first, trx.id)) break;
        // Another process may only have cleared the head's pending mark (a new ETag, the same
        // head): then the chunk still continues it, and goes again under the new ETag.
        const moved = attempt === 1 && chunk.head
          ? await this.#table.readHead(space, segment)
          : undefined;
        if (
          moved && chunk.head && moved.pending === undefined &&
          moved.status.lastSequence === chunk.head.status.lastSequence &&
          moved.trxNumber === chunk.head.trxNumber
        ) {
          actions[actions.length - 1] = { kind: "update", row: head, etag: moved.etag };
          ownMarkerNeeded = true;
          continue;
        }
        return { lost: await this.#lost(space, segment, first, error) };
      }
    }
    if (headEtag !== undefined) {
      this.#lastCommits.set(partition, {
        status: { ...chunk.status },
        trxNumber: trx.number,
        pending,
        etag: headEtag,
        version: headEtag,
      });
      if (this.#lastCommits.size > MAX_REMEMBERED_HEADS) {
        this.#lastCommits.delete(this.#lastCommits.keys().next().value!);
      }
    }
    return {};
  }

  /**
   * The rows lane: the work behind one chunk's commit, in the segment's order: its space rows
   * and inventory; then its marker is retired, for the marker lane to delete.
   */
  async #fanOut(pipeline: SegmentPipeline, owed: OwedChunk): Promise<void> {
    try {
      const outcome = await owed.outcome;
      // Left as a crash leaves it: the chunk stays owed, its marker in place.
      if (pipeline.failure || outcome === "stopped") return;
      if (outcome === "committed") {
        try {
          await this.#completeOwn(owed);
        } catch (error) {
          pipeline.failure = { error };
          return;
        }
        forget(pipeline, owed);
      }
      if (owed.marker) pipeline.retired.push(owed.marker.rowKey);
    } finally {
      owed.finish();
      this.#moveMarkers(pipeline);
    }
  }

  /**
   * The marker lane: deletes retired markers, in the same transaction that writes a marker for
   * the oldest chunk still owed a fanout when it has none, so every owed chunk stays under a
   * marker no later than it. One run per pipeline at a time; it takes whatever was retired
   * meanwhile, so a steady stream costs about one request per chunk beside the rows lane.
   */
  #moveMarkers(pipeline: SegmentPipeline): void {
    // (A run that found nothing to do would end before it is recorded as under way.)
    if (pipeline.markerWork || pipeline.retired.length === 0 || pipeline.failure) {
      this.#release(pipeline);
      return;
    }
    pipeline.markerWork = (async () => {
      try {
        while (pipeline.retired.length > 0 && !pipeline.failure) {
          const oldest = pipeline.chunks[0];
          const retired = pipeline.retired.splice(0, MAX_TRANSACTION_OPERATIONS - 1);
          try {
            await this.#passMarkers(oldest?.marker ? undefined : oldest, retired);
          } catch (error) {
            pipeline.retired.unshift(...retired);
            throw error;
          }
          await this.#step("marker-deleted");
          await this.#step("completed");
        }
      } catch (error) {
        pipeline.failure ??= { error };
      } finally {
        pipeline.markerWork = undefined;
        this.#release(pipeline);
      }
    })();
  }

  #completeOwn(owed: OwedChunk): Promise<void> {
    return this.completeFanout(
      owed.space,
      owed.segment,
      {
        firstSequence: owed.firstSequence,
        lastSequence: owed.lastSequence,
        timestamp: owed.timestamp,
      },
      { spaceRows: owed.spaceRows, createsSegment: owed.createsSegment },
    );
  }

  /**
   * Finishes what failed work behind earlier commits left (fanouts, markers): before the
   * segment's next chunk commits, and in each sweep. Throws if that fails again.
   */
  #repair(pipeline: SegmentPipeline): Promise<void> {
    pipeline.repairing ??= (async () => {
      await pipeline.work;
      await pipeline.markerWork;
      const { space, segment } = pipeline;
      while (pipeline.chunks.length > 0) {
        const owed = pipeline.chunks[0];
        if (await this.#table.committed(space, segment, owed.firstSequence, owed.trx.id)) {
          await this.#completeOwn(owed);
        }
        if (owed.marker) await this.#deleteMarker(owed.marker.rowKey);
        forget(pipeline, owed);
      }
      for (const rowKey of pipeline.retired.splice(0)) await this.#deleteMarker(rowKey);
      pipeline.failure = undefined;
      this.#release(pipeline);
    })().finally(() => pipeline.repairing = undefined);
    return pipeline.repairing;
  }

  /** Tries again, once, what failed work behind earlier commits left (see `#repair`). */
  async repairFailed(): Promise<void> {
    for (const pipeline of [...this.#pipelines.values()]) {
      if (pipeline.failure) await this.#repair(pipeline).catch(() => {});
    }
  }

  /**
   * Resolves once the fanout of every chunk committed to the segment so far is done; rejects
   * with the failure of the work behind them (they stay committed; the segment's next commit,
   * another process's head read or recovery completes them).
   */
  async settle(space: string, segment: string): Promise<void> {
    const pipeline = this.#pipelines.get(segmentPartition(space, segment));
    if (!pipeline) return;
    await Promise.all(pipeline.chunks.map((chunk) => chunk.done));
    while (pipeline.markerWork) await pipeline.markerWork;
    if (pipeline.failure) throw pipeline.failure.error;
  }

  /** Waits for the work behind every commit. */
  async drain(): Promise<void> {
    for (const pipeline of [...this.#pipelines.values()]) {
      await pipeline.work;
      while (pipeline.markerWork) await pipeline.markerWork;
    }
  }

  /**
   * The error of a writer whose transaction failed: `SequenceMismatch` or a transient
   * `Conflict` when another writer moved the head (409, 412), else the failure itself.
   */
  async #lost(space: string, segment: string, first: number, error: unknown): Promise<unknown> {
    const status = statusOf(error instanceof StreamkitError ? error.cause : error);
    if (status !== 409 && status !== 412) return error;
    const head = await this.#table.readHead(space, segment);
    const expected = (head?.status.lastSequence ?? 0) + 1;
    if (expected !== first) return new SequenceMismatchError(space, segment, expected, first);
    return new StreamkitError(
      "Conflict",
      `segment ${JSON.stringify(segment)} of space ${
        JSON.stringify(space)
      } changed while committing; retry`,
      { transient: true },
    );
  }

  /**
   * Writes committed chunks' space rows and inventory; idempotent (same rows, same bytes).
   * `rows` are the space rows when the caller has them (its own chunk, which `createsSegment`
   * or not); otherwise they are rebuilt from the segment partition (`range` may then span
   * several chunks) and the inventory is written in any case.
   */
  async completeFanout(
    space: string,
    segment: string,
    range: { firstSequence: number; lastSequence: number; timestamp: number },
    rows?: { spaceRows: Row[]; createsSegment: boolean },
  ): Promise<void> {
    // In the chunk's turn, whoever completes it: its own commit, or recovery in a head read of
    // this process that met the pending mark of a chunk still waiting. Written at once, its rows
    // would overtake an earlier chunk whose marker is still on its way. (A range of several
    // chunks waits as its last one, which is no earlier than the others.)
    await this.#fanoutOrder.turnOf({
      timestamp: range.timestamp,
      space,
      segment,
      firstSequence: range.firstSequence,
    });
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
          partitionKey: this.#spacePartitionOf(space, segment),
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
}
