// Recovery of what writers left unfinished: pending fanouts of heads, and pending markers
// resolved (completed or abandoned) at newStore, by the sweep and by readers (PROTOCOL.md I10-I12).

import { odata } from "@azure/data-tables";
import type { ChunkCommitter } from "./_commit.ts";
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
import type { FanoutWriter } from "./_fanout.ts";
import { MARKER_RESOLVE_MS } from "./_markers.ts";
import type { AzureTable } from "./_table.ts";

/** What resolving a marker did: completed its chunk's fanout, abandoned it, or left it. */
type Resolution = "completed" | "abandoned" | "live";

/** Completes or abandons the unfinished work of writers in one table. */
export class Recovery {
  readonly #table: AzureTable;
  readonly #committer: ChunkCommitter;
  readonly #fanout: FanoutWriter;
  readonly #abandonedMarkerMs: number;
  /** Readers resolve markers this old (a live commit takes ms): see MARKER_RESOLVE_MS. */
  readonly #resolveAfterMs: number;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<void> | undefined;

  /** A marker whose commit never happened is deleted once it is `abandonedMarkerMs` old. */
  constructor(
    table: AzureTable,
    committer: ChunkCommitter,
    fanout: FanoutWriter,
    abandonedMarkerMs: number,
  ) {
    this.#table = table;
    this.#committer = committer;
    this.#fanout = fanout;
    this.#abandonedMarkerMs = abandonedMarkerMs;
    this.#resolveAfterMs = Math.min(MARKER_RESOLVE_MS, abandonedMarkerMs);
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
        markerRowKey(space, pending.timestamp, pending.lastSequence, pending.trxId),
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
    const filter = odata`PartitionKey eq ${MARKER_PARTITION}`;
    for await (const row of this.#table.rows(filter)) {
      await this.#resolveMarker(row).catch(() => {});
    }
  }

  /**
   * The timestamp of `space`'s oldest chunk that another writer (anywhere) may still be
   * committing or owe a fanout, or `undefined` if there is none (I13). This committer's own
   * markers are left out (I14). One query while no marker is old; an older one is resolved
   * first rather than hold readers back until the sweep.
   */
  async oldestPendingTimestamp(space: string, signal?: AbortSignal): Promise<number | undefined> {
    const { first, end } = markerRowRange(space);
    const filter =
      odata`PartitionKey eq ${MARKER_PARTITION} and RowKey ge ${first} and RowKey lt ${end}`;
    for await (const marker of this.#table.rows(filter, signal)) {
      if (this.#committer.ownsMarker(marker.rowKey)) continue;
      const age = Date.now() - Number(marker.createdAt);
      if (!(age < this.#resolveAfterMs)) {
        const resolution = await this.#resolveMarker(marker).catch(() => "live" as const);
        if (resolution !== "live") continue;
      }
      const timestamp = markerTimestamp(space, marker.rowKey);
      // A key without a timestamp is no writer's marker: nothing can commit under it.
      if (timestamp !== undefined) return timestamp;
    }
    return undefined;
  }

  /**
   * Resolves one pending marker (I12): completes the fanout of a commit that happened (and of
   * what the segment's head still owes), abandons the marker of a commit that never will;
   * leaves (`live`) one whose writer may still commit, or may still count on it as a cover.
   */
  async #resolveMarker(row: Row): Promise<Resolution> {
    let marker: ReturnType<typeof markerOf>;
    try {
      marker = markerOf(row);
    } catch {
      // No writer can ever apply a marker nobody can read; it would hold back readers of the
      // space whose key range it lies in for ever.
      await this.#table.deleteMarker(row.rowKey);
      return "abandoned";
    }
    const { record, createdAt } = marker;
    const age = Date.now() - createdAt;
    const head = await this.#table.readHead(record.space, record.segment);
    if (
      head?.pending?.trxId === record.trx.id ||
      await this.#table.committed(record.space, record.segment, record.firstSequence, record.trx.id)
    ) {
      // Committed. Without a mark on the head, its fanout is done (whoever cleared the mark
      // completed it) and no commit of the segment that was in flight can count on the marker.
      const unmarked = head?.pending === undefined ||
        await this.completePendingFanout(record.space, record.segment, head);
      if (!unmarked && age < this.#resolveAfterMs) return "live";
      await this.#table.deleteMarker(row.rowKey);
      return "completed";
    }
    if (
      (head !== undefined && head.status.lastSequence >= record.firstSequence) ||
      age >= this.#abandonedMarkerMs
    ) {
      // Another transaction owns its first sequence (a loser's marker: its insert can only
      // fail), or its writer is presumed dead (A1).
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
