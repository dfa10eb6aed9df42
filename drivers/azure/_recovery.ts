// Recovery of what crashed writers left: fanouts a head still owes, pending markers
// whose commit happened or never will, at newStore, by a background sweep, and by readers that
// meet an old marker.

import { odata } from "@azure/data-tables";
import { type ChunkCommitter, MARKER_SETTLE_MS } from "./_commit.ts";
import {
  headRow,
  MARKER_PARTITION,
  markerOf,
  markerRowKey,
  markerRowRange,
  markerTimestamp,
  type Row,
  segmentPartition,
  type StoredHead,
} from "./_entities.ts";
import type { AzureTable } from "./_table.ts";

/** Completes or discards the unfinished work of crashed writers in one table. */
export class Recovery {
  readonly #table: AzureTable;
  readonly #committer: ChunkCommitter;
  readonly #abandonedMarkerMs: number;
  /** Readers settle markers this old (a live commit takes ms): see MARKER_SETTLE_MS. */
  readonly #settleAfterMs: number;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<void> | undefined;

  /** A marker whose commit never happened is deleted once it is `abandonedMarkerMs` old. */
  constructor(table: AzureTable, committer: ChunkCommitter, abandonedMarkerMs: number) {
    this.#table = table;
    this.#committer = committer;
    this.#abandonedMarkerMs = abandonedMarkerMs;
    this.#settleAfterMs = Math.min(MARKER_SETTLE_MS, abandonedMarkerMs);
  }

  /**
   * Finishes the fanout `head` still marks as pending (every chunk from its first sequence on)
   * and clears the mark if the head did not change meanwhile; then the marker of the head's
   * chunk goes (readers of the space stop below a marker's timestamp). Whether the mark was
   * cleared: if so, a commit of the segment that was in flight fails its If-Match, and its
   * writer writes that chunk's own marker before it tries again.
   */
  async completePendingFanout(space: string, segment: string, head: StoredHead): Promise<boolean> {
    const { pending } = head;
    if (pending === undefined) return true;
    await this.#committer.completeFanout(space, segment, pending);
    const cleared = await this.#table.replaceIfUnchanged(
      headRow(segmentPartition(space, segment), head, undefined),
      head.etag,
      "clear a pending fanout",
    );
    if (cleared) {
      await this.#table.deleteMarker(
        markerRowKey(space, pending.timestamp, pending.lastSequence, pending.trxId),
      );
    }
    return cleared;
  }

  /**
   * Completes every pending fanout whose commit happened and deletes markers whose commit never
   * happened (once they are older than `abandonedMarkerMs`: their writer may still be at work;
   * at once when the commit can never happen: an unreadable marker, or one whose sequences
   * another transaction took). A marker that cannot be settled now (say, Azure is unavailable)
   * is left for the next pass, never thrown: it must not block startup. First, the fanouts this
   * process's own commits still owe after a failure are tried again.
   */
  async recover(): Promise<void> {
    await this.#committer.repairFailed();
    const filter = odata`PartitionKey eq ${MARKER_PARTITION}`;
    for await (const row of this.#table.rows(filter)) {
      await this.#settleMarker(row).catch(() => {});
    }
  }

  /**
   * The timestamp of `space`'s oldest chunk that another writer (anywhere) may still be
   * committing or owe a fanout, or `undefined` if there is none: readers stop below it. This
   * committer's own markers are left out (it knows its chunks better). One query while no
   * marker is old. A marker older than a commit takes (or than `abandonedMarkerMs`, when that is
   * shorter: it is due for settling anyway) may belong to a crashed writer or a loser: it is
   * settled first rather than hold readers back until the sweep.
   */
  async oldestPendingTimestamp(space: string, signal?: AbortSignal): Promise<number | undefined> {
    const { first, end } = markerRowRange(space);
    const filter =
      odata`PartitionKey eq ${MARKER_PARTITION} and RowKey ge ${first} and RowKey lt ${end}`;
    for await (const marker of this.#table.rows(filter, signal)) {
      if (this.#committer.ownsMarker(marker.rowKey)) continue;
      const age = Date.now() - Number(marker.createdAt);
      if (!(age < this.#settleAfterMs)) {
        const outcome = await this.#settleMarker(marker).catch(() => "live" as const);
        if (outcome !== "live") continue;
      }
      const timestamp = markerTimestamp(space, marker.rowKey);
      // A key without a timestamp is no writer's marker: nothing can commit under it.
      if (timestamp !== undefined) return timestamp;
    }
    return undefined;
  }

  /**
   * Settles one pending marker: completes the fanout of a commit that happened (and of what the
   * segment's head still owes), deletes the marker of a commit that never will; leaves (`live`)
   * one whose writer may still commit, or may still count on it (a young marker of a committed
   * chunk can cover its writer's next chunk of the segment, see _commit.ts).
   */
  async #settleMarker(row: Row): Promise<"completed" | "abandoned" | "live"> {
    let marker: ReturnType<typeof markerOf>;
    try {
      marker = markerOf(row);
    } catch {
      // No writer can ever apply a marker nobody can read; it would hold back readers of the
      // space whose key range it lies in for ever.
      await this.#table.deleteMarker(row.rowKey);
      return "abandoned";
    }
    const { txn, createdAt } = marker;
    const age = Date.now() - createdAt;
    const head = await this.#table.readHead(txn.space, txn.segment);
    if (
      head?.pending?.trxId === txn.trx.id ||
      await this.#table.committed(txn.space, txn.segment, txn.firstSequence, txn.trx.id)
    ) {
      // Committed. Without a mark on the head, its fanout is done (whoever cleared the mark
      // completed it) and no commit of the segment that was in flight can count on the marker.
      const unmarked = head?.pending === undefined ||
        await this.completePendingFanout(txn.space, txn.segment, head);
      if (!unmarked && age < this.#settleAfterMs) return "live";
      await this.#table.deleteMarker(row.rowKey);
      return "completed";
    }
    if (
      (head !== undefined && head.status.lastSequence >= txn.firstSequence) ||
      age >= this.#abandonedMarkerMs
    ) {
      // Another transaction owns its first sequence (a loser's marker: its insert can only
      // fail), or its writer is presumed dead.
      await this.#table.deleteMarker(row.rowKey);
      return "abandoned";
    }
    return "live";
  }

  /** Runs {@linkcode Recovery.recover} every `intervalMs` until {@linkcode Recovery.close}. */
  startSweep(intervalMs: number): void {
    const timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.recover().then(() => {}, () => {}).finally(() => {
        this.#sweeping = undefined;
      });
    }, intervalMs);
    // The sweep must not keep a process alive on its own (Node: unref; Deno: unrefTimer).
    (timer as unknown as { unref?: () => void }).unref?.();
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(
      timer as unknown as number,
    );
    this.#sweepTimer = timer;
  }

  /** Stops the sweep; resolves once a pass in progress ended. */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    await this.#sweeping;
  }
}
