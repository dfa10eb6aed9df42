// Commits chunks to one table and runs the work behind each commit: per segment, a rows lane
// (fanouts in commit order) and a marker lane (see PROTOCOL.md I2-I9).

import { StreamkitError } from "@streamkit/core";
import type { ChunkCommit, ChunkCover } from "@streamkit/core/driver";
import { MAX_TRANSACTION_OPERATIONS } from "./_batch.ts";
import type { CommitStep, CommitStepHook } from "./_commit_hooks.ts";
import { type CommitAnswer, submitCommit } from "./_commit_point.ts";
import {
  compressForRow,
  entryRow,
  type PendingFanout,
  segmentPartition,
  spaceRow,
  type StoredHead,
} from "./_entities.ts";
import type { FanoutWriter } from "./_fanout.ts";
import { OwnMarkers } from "./_markers.ts";
import {
  forget,
  hasMarker,
  isIdle,
  newPipeline,
  type Outcome,
  type OwedChunk,
  owedChunk,
  type SegmentPipeline,
} from "./_pipeline.ts";
import type { AzureTable } from "./_table.ts";
import type { TableClock } from "./_table_clock.ts";

/**
 * The largest compressed entry a row may hold. Space rows are upserted, and an upsert's JSON
 * body (binary as base64) may not pass 1 MiB: about 786,000 raw bytes on Azurite.
 */
const MAX_ENTRY_VALUE_BYTES = 760 * 1024;
/** Chunks of a segment committed and still owed a fanout, at most: the next commit waits (I7). */
const MAX_OWED_CHUNKS = 4;
/** Segments whose last commit's head a committer remembers (oldest forgotten first). */
const MAX_REMEMBERED_HEADS = 10_000;

/** Commits chunks to one table and completes their fanout. */
export class ChunkCommitter {
  readonly #table: AzureTable;
  readonly #fanout: FanoutWriter;
  readonly #afterStep: CommitStepHook | undefined;
  /** How far this process's clock may be from the table's time (I15). */
  readonly #maxClockSkewMs: number;
  /** Segment partition → the head as this committer's last commit left it, with its ETag (I9). */
  readonly #lastCommits = new Map<string, StoredHead>();
  /** Segment partition → the ETag of its fence row, for the segment's first commit (I12). */
  readonly #emptyHeads = new Map<string, string>();
  /** Segment partition → its pipeline, while it has chunks or a failure. */
  readonly #pipelines = new Map<string, SegmentPipeline>();
  readonly #markers: OwnMarkers;
  readonly #tableClock: TableClock;
  /** Set only in tests: stamps by this clock, read before the marker's write (see _commit_hooks.ts). */
  readonly #ownClock: (() => number) | undefined;

  /** Commits to `table`, fanning out with `fanout`, learning the table's time into `clock`. */
  constructor(
    table: AzureTable,
    fanout: FanoutWriter,
    clock: TableClock,
    maxClockSkewMs: number,
    afterStep: CommitStepHook | undefined,
    ownClock?: () => number,
  ) {
    this.#ownClock = ownClock;
    this.#table = table;
    this.#fanout = fanout;
    this.#markers = new OwnMarkers(table, clock);
    this.#tableClock = clock;
    this.#maxClockSkewMs = maxClockSkewMs;
    this.#afterStep = afterStep;
  }

  /** Notes the ETag of a segment's fence row, read by a head read (I12). */
  noteEmptyHead(space: string, segment: string, etag: string): void {
    this.#emptyHeads.set(segmentPartition(space, segment), etag);
  }

  /** The head this committer's last commit to the segment left, if it still remembers it. */
  lastCommit(space: string, segment: string): StoredHead | undefined {
    return this.#lastCommits.get(segmentPartition(space, segment));
  }

  /** Whether `rowKey` is a marker of this committer, still in the table or being deleted. */
  ownsMarker(rowKey: string): boolean {
    return this.#markers.owns(rowKey);
  }

  /**
   * Waits for the fanout of this committer's chunks of `space` that had committed when called;
   * then the timestamp of its oldest chunk of the space still committing or owed a fanout (I13).
   */
  async ownPendingTimestamp(space: string): Promise<number | undefined> {
    const pipelines = [...this.#pipelines.values()].filter((p) => p.space === space);
    await Promise.all(
      pipelines.flatMap((p) => p.chunks.filter((chunk) => chunk.committed)).map((c) => c.done),
    );
    let oldest: number | undefined;
    for (const pipeline of pipelines) {
      const first = pipeline.chunks[0];
      if (first && !(oldest !== undefined && oldest <= first.markerAt)) oldest = first.markerAt;
    }
    return oldest;
  }

  async #step(step: CommitStep): Promise<void> {
    await this.#afterStep?.(step);
  }

  #pipelineOf(space: string, segment: string): SegmentPipeline {
    const partition = segmentPartition(space, segment);
    let pipeline = this.#pipelines.get(partition);
    if (!pipeline) {
      pipeline = newPipeline(space, segment, partition);
      this.#pipelines.set(partition, pipeline);
    }
    return pipeline;
  }

  /** Forgets a pipeline with nothing left to do. */
  #release(pipeline: SegmentPipeline): void {
    if (isIdle(pipeline)) this.#pipelines.delete(pipeline.partition);
  }

  /**
   * Covers a chunk before it is stamped (I3): under a marker of an earlier chunk of the segment
   * this committer still owes when the chunk continues the head its own last commit left (a
   * resolver fences that head before deleting a marker, so the commit can then only fail), else
   * under a marker of its own, written now. Resolves with the table's time of that write, the
   * earliest the chunk may be stamped; rejects with `ClockSkew` when `chunk.clock` is further
   * than `maxClockSkewMs` from it (I15), the marker deleted again.
   */
  async cover(chunk: ChunkCover): Promise<number> {
    const { space, segment, head, trx, firstSequence, lastSequence, lowest, clock } = chunk;
    const pipeline = this.#pipelineOf(space, segment);
    while (pipeline.failure || pipeline.chunks.length >= MAX_OWED_CHUNKS) {
      if (pipeline.failure) await this.#repair(pipeline);
      // Commits run at most this far ahead of the space index (a throttled shard slows them).
      else await pipeline.chunks[0].done;
    }
    const continuesOwnHead = head !== undefined &&
      head.version === this.#lastCommits.get(pipeline.partition)?.etag;
    const covered = continuesOwnHead && hasMarker(pipeline);
    // The table's time as known here, a lower bound of the stamp (a restore keeps its own).
    const ownStamp = this.#ownClock && clock ? Math.max(lowest, this.#ownClock()) : undefined;
    const markerAt = ownStamp ??
      (clock ? Math.max(lowest, this.#tableClock.lowerBound() ?? lowest) : lowest);
    const owed = owedChunk({
      space,
      segment,
      trx,
      firstSequence,
      lastSequence,
      markerAt,
      timestamp: markerAt,
      spaceRows: [],
      createsSegment: head === undefined,
    });
    pipeline.chunks.push(owed);
    if (covered) return markerAt;
    const sentAt = clock?.now();
    let writtenAt: number | undefined;
    try {
      writtenAt = await this.#markers.write(owed);
    } catch (error) {
      this.#abandon(pipeline, owed);
      throw error;
    }
    const receivedAt = clock?.now();
    try {
      await this.#step("marker");
    } catch (error) {
      // A simulated crash: left as a crash leaves it, for the next commit or the sweep (I8).
      pipeline.failure ??= { error };
      owed.decide("stopped");
      owed.finish();
      throw error;
    }
    if (clock && writtenAt !== undefined) {
      try {
        this.#checkClock(sentAt!, writtenAt, receivedAt!);
      } catch (error) {
        this.#abandon(pipeline, owed);
        throw error;
      }
    }
    // Stamped at its marker's table time at least (I6).
    if (ownStamp !== undefined) return ownStamp;
    return Math.max(markerAt, clock ? writtenAt ?? markerAt : markerAt);
  }

  /**
   * Throws `ClockSkew` when the clock read `sentAt` before a marker write and `receivedAt` after
   * it is surely further than `maxClockSkewMs` from the write's table time `writtenAt` (I15).
   */
  #checkClock(sentAt: number, writtenAt: number, receivedAt: number): void {
    const allowed = this.#maxClockSkewMs;
    if (writtenAt - receivedAt <= allowed && sentAt - writtenAt <= allowed) return;
    const offset = Math.round((sentAt + receivedAt) / 2 - writtenAt);
    throw new StreamkitError(
      "ClockSkew",
      `this process's clock is about ${Math.abs(offset)} ms ${
        offset < 0 ? "behind" : "ahead of"
      } the table's time (measured on a pending marker's write), more than maxClockSkewMs ` +
        `(${allowed} ms): nothing was written; set the host's clock right (NTP), or raise ` +
        `maxClockSkewMs`,
    );
  }

  /** A covered chunk that will not commit: out of its pipeline, its marker (if any) deleted. */
  #abandon(pipeline: SegmentPipeline, owed: OwedChunk): void {
    forget(pipeline, owed);
    if (owed.marker) pipeline.retired.push(owed.marker.rowKey);
    owed.decide("failed");
    owed.finish();
    this.#moveMarkers(pipeline);
  }

  /**
   * Commits `chunk`, covered by {@linkcode ChunkCommitter.cover}: one transaction with its rows
   * and the head (If-Match on the head it was validated against). Resolves at that commit point;
   * the fanout follows behind (see {@linkcode ChunkCommitter.drainSegment}). A writer that lost
   * the race gets `SequenceMismatch`, and one whose head was fenced a transient `Conflict`; it
   * wrote no rows.
   */
  async commit(chunk: ChunkCommit): Promise<void> {
    const { space, segment, trx, timestamp, entries } = chunk;
    const pipeline = this.#pipelineOf(space, segment);
    const owed = pipeline.chunks.find((owed) => owed.trx.id === trx.id && !owed.committed);
    if (!owed) throw new Error(`chunk of trx ${trx.id} committed without a cover`);
    const values = entries.map(compressForRow);
    const tooLarge = values.findIndex((value) => value.length > MAX_ENTRY_VALUE_BYTES);
    if (tooLarge >= 0) {
      this.#abandon(pipeline, owed);
      throw new StreamkitError(
        "PayloadTooLarge",
        `records: the entry at sequence ${entries[tooLarge].sequence} takes ` +
          `${values[tooLarge].length} bytes compressed, with its metadata and names; an Azure ` +
          `row holds at most ${MAX_ENTRY_VALUE_BYTES} (limits.maxPayloadBytes counts the ` +
          `payload alone)`,
      );
    }
    const spacePartition = this.#fanout.spacePartitionOf(space, segment);
    owed.timestamp = timestamp;
    owed.spaceRows = entries.map((entry, i) =>
      entryRow(spacePartition, spaceRow(timestamp, segment, entry.sequence), values[i])
    );
    // The head marks every chunk still owed a fanout, from the oldest (I4).
    const owedFrom = pipeline.chunks[0].firstSequence;
    pipeline.work = pipeline.work.then(() => this.#fanOut(pipeline, owed));

    let outcome: Outcome = "stopped";
    try {
      const answer = await this.#commitPoint(chunk, owed, owedFrom, values);
      if (!answer.applied) {
        outcome = "failed";
        throw answer.lost;
      }
      owed.committed = true;
      await this.#step("commit");
      outcome = "committed";
    } catch (error) {
      // Cannot tell whether it applied, or a simulated crash: what is behind it stops here (I8).
      if (outcome === "stopped") pipeline.failure ??= { error };
      throw error;
    } finally {
      // Nothing of it applied: its marker goes, and no later chunk may count on it.
      if (outcome === "failed") forget(pipeline, owed);
      owed.decide(outcome);
    }
    // A segment's first chunk: its inventory must be there once produce acknowledges it (I5).
    if (owed.createsSegment) await this.drainSegment(space, segment);
  }

  /**
   * The commit point (see {@linkcode submitCommit}); remembers the head it left (I9). Throws
   * when it cannot tell whether the transaction applied.
   */
  async #commitPoint(
    chunk: ChunkCommit,
    owed: OwedChunk,
    owedFrom: number,
    values: Uint8Array[],
  ): Promise<CommitAnswer> {
    const { space, segment, trx, timestamp } = chunk;
    const partition = segmentPartition(space, segment);
    const pending: PendingFanout = {
      trxId: trx.id,
      trxNumber: trx.number,
      firstSequence: owedFrom,
      lastSequence: owed.lastSequence,
      timestamp,
      markerAt: owed.markerAt,
    };
    this.#lastCommits.delete(partition);
    const emptyHeadEtag = chunk.head ? undefined : this.#emptyHeads.get(partition);
    const answer = await submitCommit(this.#table, chunk, values, pending, emptyHeadEtag);
    if (answer.applied) this.#emptyHeads.delete(partition);
    if (!answer.applied || answer.headEtag === undefined) return answer;
    this.#lastCommits.set(partition, {
      status: { ...chunk.status },
      trxNumber: trx.number,
      pending,
      etag: answer.headEtag,
      version: answer.headEtag,
    });
    if (this.#lastCommits.size > MAX_REMEMBERED_HEADS) {
      this.#lastCommits.delete(this.#lastCommits.keys().next().value!);
    }
    return answer;
  }

  /**
   * The rows lane: the work behind one chunk's commit, in the segment's order: its space rows
   * and inventory; then its marker is retired, for the marker lane to delete (I5, I7).
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
   * marker no later than it (I7). One run per pipeline at a time; it takes whatever was retired
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
            await this.#markers.pass(oldest?.marker ? undefined : oldest, retired);
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
    return this.#fanout.complete(
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
   * segment's next chunk commits, and in each sweep (I8). Throws if that fails again.
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
        if (owed.marker) await this.#markers.delete(owed.marker.rowKey);
        forget(pipeline, owed);
      }
      for (const rowKey of pipeline.retired.splice(0)) await this.#markers.delete(rowKey);
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
   * Resolves once the work behind every chunk committed to the segment so far is done (fanouts
   * and markers); rejects with the failure of that work (the chunks stay committed; the
   * segment's next commit, another process's head read or recovery completes them).
   */
  async drainSegment(space: string, segment: string): Promise<void> {
    const pipeline = this.#pipelines.get(segmentPartition(space, segment));
    if (!pipeline) return;
    await Promise.all(pipeline.chunks.map((chunk) => chunk.done));
    while (pipeline.markerWork) await pipeline.markerWork;
    if (pipeline.failure) throw pipeline.failure.error;
  }

  /** Waits for the work behind every commit, without failing for it. */
  async drainAll(): Promise<void> {
    for (const pipeline of [...this.#pipelines.values()]) {
      await pipeline.work;
      while (pipeline.markerWork) await pipeline.markerWork;
    }
  }
}
