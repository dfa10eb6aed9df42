// Recovery of what writers left unfinished: pending fanouts of heads, and pending markers
// resolved (completed or abandoned) at newStore, by the sweep and by readers (PROTOCOL.md I10-I12).

import { odata } from "@azure/data-tables";
import type { ChunkCommitter } from "./_commit.ts";
import {
  CLOCK_ROW_PREFIX,
  emptyHeadRow,
  headRow,
  MARKER_PARTITION,
  markerOf,
  markerRowKey,
  markerRowRange,
  markerTimestamp,
  type Row,
  rowTime,
  segmentPartition,
  type StoredHead,
} from "./_entities.ts";
import type { FanoutWriter } from "./_fanout.ts";
import type { AzureTable } from "./_table.ts";

/** What resolving a marker did: completed its chunk's fanout, abandoned it, or left it. */
type Resolution = "completed" | "abandoned" | "live";

/** Fences of one head tried before a resolver leaves a marker to the next pass. */
const FENCE_ATTEMPTS = 3;
/** A clock row not written for this long belongs to a process that ended. */
const CLOCK_ROW_KEPT_MS = 60 * 60_000;

/** Completes or abandons the unfinished work of writers in one table. */
export class Recovery {
  readonly #table: AzureTable;
  readonly #committer: ChunkCommitter;
  readonly #fanout: FanoutWriter;
  /** Markers of other processes are resolved once this old by the table's time (I12). */
  readonly #resolveAfterMs: number;
  /** A lower bound of the table's time now (asking the table when this process knows none). */
  readonly #tableNow: (signal?: AbortSignal) => Promise<number>;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(
    table: AzureTable,
    committer: ChunkCommitter,
    fanout: FanoutWriter,
    resolveAfterMs: number,
    tableNow: (signal?: AbortSignal) => Promise<number>,
  ) {
    this.#table = table;
    this.#committer = committer;
    this.#fanout = fanout;
    this.#resolveAfterMs = resolveAfterMs;
    this.#tableNow = tableNow;
  }

  /**
   * Finishes the fanout `head` still marks as pending (every chunk from its first sequence on),
   * clears the mark if the head did not change meanwhile, and then deletes the marker of the
   * head's chunk (I10). Whether the mark was cleared: if so, a commit of the segment in flight
   * fails its If-Match (I11).
   */
  async completePendingFanout(space: string, segment: string, head: StoredHead): Promise<boolean> {
    const { pending } = head;
    if (pending === undefined) return true;
    await this.#fanout.complete(space, segment, pending);
    const cleared = await this.#table.replaceIfUnchanged(
      headRow(segmentPartition(space, segment), head, undefined),
      head.etag,
      "clear a pending fanout",
    );
    if (cleared) {
      await this.#table.deleteMarker(
        markerRowKey(
          space,
          pending.markerAt ?? pending.timestamp,
          pending.lastSequence,
          pending.trxId,
        ),
      );
    }
    return cleared;
  }

  /**
   * Repairs the work behind this process's own commits that failed (I8), then resolves every
   * pending marker (I12). A marker that cannot be resolved now (say, Azure is unavailable) is
   * left for the next pass, never thrown: it must not block startup.
   */
  async recover(): Promise<void> {
    await this.#committer.repairFailed();
    const now = await this.#tableNow();
    const filter = odata`PartitionKey eq ${MARKER_PARTITION}`;
    for await (const row of this.#table.rows(filter)) {
      if (row.rowKey.startsWith(CLOCK_ROW_PREFIX)) {
        // A process's clock row, rewritten while it reads: one not written for long is gone.
        const writtenAt = rowTime(row);
        if (writtenAt !== undefined && now - writtenAt > CLOCK_ROW_KEPT_MS) {
          await this.#table.deleteMarker(row.rowKey).catch(() => {});
        }
        continue;
      }
      if (this.#committer.ownsMarker(row.rowKey)) continue;
      await this.#resolveMarker(row, now).catch(() => {});
    }
  }

  /**
   * The timestamp of `space`'s oldest chunk that another writer (anywhere) may still be
   * committing or owe a fanout, or `undefined` if there is none (I13), by one query of the
   * markers; this committer's own are left out (I14). A marker at least `resolveAfterMs` old by
   * the table's time `now` is resolved first rather than hold readers back until the sweep.
   */
  async oldestPendingTimestamp(
    space: string,
    now: number,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const { first, end } = markerRowRange(space);
    const filter =
      odata`PartitionKey eq ${MARKER_PARTITION} and RowKey ge ${first} and RowKey lt ${end}`;
    for await (const row of this.#table.rows(filter, signal)) {
      if (this.#committer.ownsMarker(row.rowKey)) continue;
      const writtenAt = rowTime(row);
      if (writtenAt === undefined || now - writtenAt >= this.#resolveAfterMs) {
        const resolution = await this.#resolveMarker(row, now).catch(() => "live" as const);
        if (resolution !== "live") continue;
      }
      const timestamp = markerTimestamp(space, row.rowKey);
      // A key without a timestamp is no writer's marker: nothing can commit under it.
      if (timestamp !== undefined) return timestamp;
    }
    return undefined;
  }

  /**
   * Resolves one pending marker once it is `resolveAfterMs` old by the table's time `now` (I12):
   * fences the segment's head (completing and clearing the fanout it marks as pending, rewriting
   * it, or writing a fence row for a segment without one), so that a commit still in flight that
   * counts on the marker can only fail, and only then deletes the marker. A marker whose first
   * sequence another transaction holds goes at once. Leaves (`live`) a younger marker, committed
   * or not (fencing it would fail its live writer's next commit), or one whose head keeps moving.
   */
  async #resolveMarker(row: Row, now: number): Promise<Resolution> {
    let marker: ReturnType<typeof markerOf>;
    try {
      marker = markerOf(row);
    } catch {
      // No writer can ever apply a marker nobody can read; it would hold back readers of the
      // space whose key range it lies in for ever.
      await this.#table.deleteMarker(row.rowKey);
      return "abandoned";
    }
    const { record, writtenAt } = marker;
    const old = writtenAt === undefined || now - writtenAt >= this.#resolveAfterMs;
    const { space, segment } = record;
    const partition = segmentPartition(space, segment);
    for (let attempt = 0; attempt < FENCE_ATTEMPTS; attempt++) {
      const head = await this.#table.readHeadRow(space, segment);
      const committed = head?.pending?.trxId === record.trx.id ||
        await this.#table.committed(space, segment, record.firstSequence, record.trx.id);
      if (!committed && head && head.status.lastSequence >= record.firstSequence) {
        // Another transaction holds its first sequence: its insert can only fail.
        await this.#table.deleteMarker(row.rowKey);
        return "abandoned";
      }
      // A young marker: its writer is likely at work, committing or finishing the fanout.
      if (!old) return "live";
      const fenced = head?.pending
        ? await this.completePendingFanout(space, segment, head)
        : head
        ? await this.#table.replaceIfUnchanged(
          head.status.lastSequence > 0
            ? headRow(partition, head, undefined)
            : emptyHeadRow(partition),
          head.etag,
          "fence a segment head",
        )
        : await this.#table.createIfAbsent(emptyHeadRow(partition), "fence a new segment");
      if (!fenced) continue;
      await this.#table.deleteMarker(row.rowKey);
      return committed ? "completed" : "abandoned";
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
