// The commit protocol: pending marker, commit transaction (the commit point),
// fanout (space rows, inventory), marker delete.

import { odata } from "@azure/data-tables";
import { SequenceMismatchError, StreamkitError } from "@streamkit/core";
import type { ChunkCommit } from "@streamkit/core/driver";
import type { BatchAction } from "./_batch.ts";
import type { CommitStep, CommitStepHook } from "./_commit_hooks.ts";
import {
  compressForRow,
  entryOf,
  entryRow,
  headRow,
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
/** Segments whose last completed fanout a committer remembers (oldest forgotten first). */
const MAX_REMEMBERED_FANOUTS = 10_000;

/** Commits chunks to one table and completes their fanout. */
export class ChunkCommitter {
  readonly #table: AzureTable;
  readonly #afterStep: CommitStepHook | undefined;
  /**
   * Segment partition → the head as this committer's last commit left it (ETag from the
   * commit's answer), whose fanout it completed. Its pending mark stays (clearing it would cost
   * two requests per chunk; the next commit overwrites it): a head read need not repeat that
   * fanout, and a writer need not read the head again. Other processes, and this one once it
   * forgot, repeat the fanout idempotently; a stale entry fails one commit (If-Match).
   */
  readonly #lastCommits = new Map<string, StoredHead>();
  readonly #fanoutOrder = new FanoutOrder();

  constructor(table: AzureTable, afterStep: CommitStepHook | undefined) {
    this.#table = table;
    this.#afterStep = afterStep;
  }

  /** The head this committer's last commit to the segment left, if it still remembers it. */
  lastCommit(space: string, segment: string): StoredHead | undefined {
    return this.#lastCommits.get(segmentPartition(space, segment));
  }

  async #step(step: CommitStep): Promise<void> {
    await this.#afterStep?.(step);
  }

  /**
   * Commits `chunk`: marker, then one transaction with its rows and the head (If-Match on the
   * head it was validated against), then its fanout, then the marker's delete. A writer that
   * lost the race gets `SequenceMismatch` (or a transient `Conflict`) and wrote no rows.
   */
  async commit(chunk: ChunkCommit): Promise<void> {
    const { space, segment, timestamp, trx } = chunk;
    const ticket = this.#fanoutOrder.enter({ trxId: trx.id, timestamp, space, segment });
    try {
      await this.#commit(chunk, ticket);
    } finally {
      this.#fanoutOrder.leave(ticket);
    }
  }

  async #commit(chunk: ChunkCommit, ticket: FanoutTicket): Promise<void> {
    const { space, segment, trx, timestamp, entries } = chunk;
    const partition = segmentPartition(space, segment);
    const first = entries[0].sequence;
    const last = entries[entries.length - 1].sequence;
    const pending: PendingFanout = {
      trxId: trx.id,
      trxNumber: trx.number,
      firstSequence: first,
      lastSequence: last,
      timestamp,
    };
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
    const marker = markerRow(
      { trx, space, segment, firstSequence: first, lastSequence: last, timestamp, entries: [] },
      Date.now(),
    );
    await this.#table.upsert(marker, "write the pending marker");
    await this.#step("marker");

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
    let headEtag: string | undefined;
    for (let attempt = 1;; attempt++) {
      try {
        const etags = await this.#table.submit(actions, "commit a chunk");
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
          continue;
        }
        await this.#table.deleteMarker(marker.rowKey).catch(() => {});
        throw await this.#lost(space, segment, first, error);
      }
    }
    await this.#step("commit");

    const rows = entries.map((entry, i) =>
      entryRow(spacePartition(space), spaceRow(timestamp, segment, entry.sequence), values[i])
    );
    await this.completeFanout(space, segment, pending, rows);
    // The rows are in the space index: later chunks may follow.
    this.#fanoutOrder.leave(ticket);
    // The marker goes before the head's mark: once the fanout is done the marker is of no use,
    // and it holds back readers of the space. A crash between the two leaves a mark whose
    // (idempotent) fanout the next head read repeats; the other order would leave a marker
    // that no head read finds and that stalls readers until a sweep.
    await this.#table.deleteMarker(marker.rowKey);
    await this.#step("marker-deleted");
    // The head's mark stays: the fanout is whole, and the next commit replaces the head anyway
    // (its If-Match uses the etag remembered here). Until then this committer's head reads skip
    // the fanout; another process's head read, or recovery, repeats it (idempotent) and clears
    // the mark. Clearing it here would cost a head read and an update per chunk.
    if (headEtag !== undefined) {
      this.#lastCommits.set(partition, {
        status: { ...chunk.status },
        trxNumber: trx.number,
        pending,
        etag: headEtag,
        version: headEtag,
      });
      if (this.#lastCommits.size > MAX_REMEMBERED_FANOUTS) {
        this.#lastCommits.delete(this.#lastCommits.keys().next().value!);
      }
    }
    await this.#step("completed");
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
   * Writes a committed chunk's space rows and inventory; idempotent (same rows, same bytes).
   * `rows` are the space rows when the caller has them; otherwise they are rebuilt from the
   * segment partition.
   */
  async completeFanout(
    space: string,
    segment: string,
    pending: PendingFanout,
    rows?: Row[],
  ): Promise<void> {
    // In the chunk's turn, whoever completes it: its own commit, or recovery in a head read of
    // this process that met the pending mark of a chunk still waiting. Written at once, its rows
    // would overtake an earlier chunk whose marker is still on its way.
    await this.#fanoutOrder.turnOf(pending.trxId);
    const spaceRows = rows ?? [];
    if (!rows) {
      const partition = segmentPartition(space, segment);
      const filter = odata`PartitionKey eq ${partition} and RowKey ge ${
        sequenceRow(pending.firstSequence)
      } and RowKey le ${sequenceRow(pending.lastSequence)}`;
      for await (const row of this.#table.rows(filter)) {
        const entry = entryOf(row);
        spaceRows.push({
          ...row,
          partitionKey: spacePartition(space),
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
    if (pending.trxNumber === 1) {
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
