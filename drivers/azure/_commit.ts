// Commits chunks to one table and runs the work behind each commit: per segment, a rows lane
// (fanouts in commit order) and a marker lane (see PROTOCOL.md I2-I9).

import { StreamkitError } from "@streamkit/core";
import type { ChunkCommit } from "@streamkit/core/driver";
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
import type { FanoutOrder } from "./_fanout_order.ts";
import { MARKER_RESOLVE_MS, OwnMarkers } from "./_markers.ts";
import {
  coveringMarker,
  forget,
  isIdle,
  newPipeline,
  type Outcome,
  type OwedChunk,
  owedChunk,
  type SegmentPipeline,
} from "./_pipeline.ts";
import type { AzureTable } from "./_table.ts";

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
  readonly #fanoutOrder: FanoutOrder;
  readonly #afterStep: CommitStepHook | undefined;
  /** How long a marker may cover later chunks of its segment (I3). */
  readonly #coverMs: number;
  /** Segment partition → the head as this committer's last commit left it, with its ETag (I9). */
  readonly #lastCommits = new Map<string, StoredHead>();
  /** Segment partition → its pipeline, while it has chunks or a failure. */
  readonly #pipelines = new Map<string, SegmentPipeline>();
  readonly #markers: OwnMarkers;

  /** Commits to `table`, fanning out with `fanout`; markers are abandoned at `abandonedMarkerMs`. */
  constructor(
    table: AzureTable,
    fanout: FanoutWriter,
    abandonedMarkerMs: number,
    afterStep: CommitStepHook | undefined,
  ) {
    this.#table = table;
    this.#fanout = fanout;
    this.#fanoutOrder = fanout.order;
    this.#markers = new OwnMarkers(table);
    this.#coverMs = Math.min(MARKER_RESOLVE_MS, abandonedMarkerMs) / 2;
    this.#afterStep = afterStep;
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
      if (first && !(oldest !== undefined && oldest <= first.timestamp)) oldest = first.timestamp;
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

  #isCovered(pipeline: SegmentPipeline): boolean {
    return coveringMarker(pipeline, this.#coverMs) !== undefined;
  }

  /**
   * Commits `chunk`: marker (unless an earlier chunk's covers it), then one transaction with its
   * rows and the head (If-Match on the head it was validated against). Resolves at that commit
   * point; the fanout follows behind (see {@linkcode ChunkCommitter.drainSegment}). A writer
   * that lost the race gets `SequenceMismatch` (or a transient `Conflict`) and wrote no rows.
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
    // The head marks every chunk still owed a fanout, from the oldest (I4).
    const owedFrom = pipeline.chunks[0]?.firstSequence ?? firstSequence;
    const covered = this.#isCovered(pipeline);
    const spacePartition = this.#fanout.spacePartitionOf(space, segment);
    const owed = owedChunk({
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
    });
    pipeline.chunks.push(owed);
    pipeline.work = pipeline.work.then(() => this.#fanOut(pipeline, owed));
    // Under a marker already: chunks stamped after it need not wait for it (I6).
    if (covered) this.#fanoutOrder.leave(owed.ticket);

    let outcome: Outcome = "stopped";
    try {
      if (!covered) {
        try {
          await this.#markers.write(owed);
        } catch (error) {
          outcome = "failed";
          throw error;
        } finally {
          this.#fanoutOrder.leave(owed.ticket);
        }
        await this.#step("marker");
      }
      const answer = await this.#commitPoint(chunk, pipeline, owed, owedFrom, values);
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
      // Nothing of it applied: the next chunk must not count on its marker.
      if (outcome === "failed") forget(pipeline, owed);
      this.#fanoutOrder.leave(owed.ticket);
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
    pipeline: SegmentPipeline,
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
    };
    this.#lastCommits.delete(partition);
    // A chunk under an earlier chunk's marker gets its own before an attempt once that marker is
    // old, or after a resolver cleared the head's mark (it may have deleted the marker too: I11).
    const answer = await submitCommit(this.#table, chunk, values, pending, async (markCleared) => {
      if (!owed.marker && (markCleared || !this.#isCovered(pipeline))) {
        await this.#markers.write(owed);
      }
    });
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
