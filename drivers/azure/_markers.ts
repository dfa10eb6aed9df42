// The pending markers one committer writes, passes on and deletes, and which markers count as
// its own (see PROTOCOL.md I3, I7, I14).

import type { BatchAction } from "./_batch.ts";
import { MARKER_PARTITION, markerRow, type Row } from "./_entities.ts";
import type { OwedChunk } from "./_pipeline.ts";
import { requestStatusOf } from "./_requests.ts";
import type { AzureTable } from "./_table.ts";
import type { TableClock } from "./_table_clock.ts";

/**
 * Others resolve a marker once it is this old by the table's time (a live writer commits and
 * deletes its own within a few round trips): they fence the segment's head first, so a commit
 * still in flight under it can only fail (I12).
 */
export const MARKER_RESOLVE_MS = 2_000;

/** How long a committer remembers a marker it deleted: longer than any marker query takes. */
const DELETED_MARKERS_KEPT_MS = 60_000;

/** The markers of one committer. */
export class OwnMarkers {
  readonly #table: AzureTable;
  readonly #clock: TableClock;
  /** Row keys of the markers written and not deleted. */
  readonly #written = new Set<string>();
  /**
   * Markers deleted lately, with when: a marker query answered before a delete may still be
   * read after it, and the marker must still count as this committer's then (I14).
   */
  readonly #deleted = new Map<string, number>();

  constructor(table: AzureTable, clock: TableClock) {
    this.#table = table;
    this.#clock = clock;
  }

  /** Whether `rowKey` is a marker of this committer, still in the table or being deleted. */
  owns(rowKey: string): boolean {
    return this.#written.has(rowKey) || this.#deleted.has(rowKey);
  }

  /**
   * Writes the pending marker of `chunk` before it is stamped; resolves with the table's time of
   * the write (`undefined` if the answer did not carry it).
   */
  async write(chunk: OwedChunk): Promise<number | undefined> {
    return this.#clock.note(
      await this.#table.upsert(this.#rowOf(chunk), "write the pending marker"),
    );
  }

  async delete(rowKey: string): Promise<void> {
    await this.#table.deleteMarker(rowKey);
    this.#noteDeleted(rowKey);
  }

  /**
   * Writes the marker of `to` (when given) and deletes `retired`, in one transaction of the
   * marker partition: the new marker is there exactly when the old ones go. If a resolver
   * deleted one of them already, one request at a time instead (the new marker first).
   */
  async pass(to: OwedChunk | undefined, retired: string[]): Promise<void> {
    if (!to && retired.length === 1) return await this.delete(retired[0]);
    const row = to && this.#rowOf(to);
    const actions: BatchAction[] = retired.map((rowKey) => ({
      kind: "delete",
      row: { partitionKey: MARKER_PARTITION, rowKey },
    }));
    if (row) actions.unshift({ kind: "upsert", row });
    try {
      const etags = await this.#table.submit(actions, "move a pending marker");
      if (row) this.#clock.note(etags[0]);
    } catch (error) {
      if (requestStatusOf(error) !== 404) throw error;
      if (row) this.#clock.note(await this.#table.upsert(row, "write the pending marker"));
      for (const rowKey of retired) await this.#table.deleteMarker(rowKey);
    }
    for (const rowKey of retired) this.#noteDeleted(rowKey);
  }

  /** The pending marker of `chunk`, recorded as its own and this committer's from now on. */
  #rowOf(chunk: OwedChunk): Row {
    const { trx, space, segment, firstSequence, lastSequence, markerAt } = chunk;
    const row = markerRow({
      trx,
      space,
      segment,
      firstSequence,
      lastSequence,
      timestamp: markerAt,
      entries: [],
    });
    chunk.marker = { rowKey: row.rowKey };
    this.#written.add(row.rowKey);
    return row;
  }

  #noteDeleted(rowKey: string): void {
    this.#written.delete(rowKey);
    const now = Date.now();
    this.#deleted.set(rowKey, now);
    for (const [key, deletedAt] of this.#deleted) {
      if (now - deletedAt < DELETED_MARKERS_KEPT_MS) break;
      this.#deleted.delete(key);
    }
  }
}
