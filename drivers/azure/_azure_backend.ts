// The Azure driver's storage: one table per store, hex keys, the commit protocol of DESIGN 7.3.

import { odata, type TableClient } from "@azure/data-tables";
import {
  type BackendLimits,
  type ChunkCommit,
  type Entry,
  i64,
  type SegmentHead,
  type SegmentRange,
  SequenceMismatchError,
  spaceIndexPrefix,
  type SpaceRange,
  type StoreBackend,
  StreamkitError,
  toHex,
} from "@streamkit/core";
import {
  compressForRow,
  entryOf,
  entryRow,
  HEAD_ROW,
  headOf,
  headRow,
  MARKER_PARTITION,
  markerOf,
  markerRow,
  markerRowPrefix,
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
import { type BatchAction, BatchSender } from "./_batch.ts";
import {
  type CredentialKind,
  type RetryPolicy,
  statusOf,
  toStreamkitError,
  withRetry,
} from "./_errors.ts";

/** The steps of a commit, in order; a fault-injection hook may throw after any of them. */
export type CommitStep =
  | "marker"
  | "commit"
  | "space-rows"
  | "inventory"
  | "marker-deleted"
  // The commit is done; the name is historical: the writer no longer clears its own head's mark.
  | "head-cleared";

/** What the backend needs besides its table. */
export interface AzureBackendSettings {
  limits: BackendLimits;
  retry: RetryPolicy;
  credentialKind: CredentialKind;
  /** Rows fetched per query page. */
  pageSize: number;
  /** A marker whose commit never happened is deleted once it is this old. */
  abandonedMarkerMs: number;
  /** Test hook: runs after each step of a commit (throwing simulates a crash there). */
  afterCommitStep?: (step: CommitStep) => void | Promise<void>;
}

/**
 * The largest compressed entry a row may hold. Space rows are upserted, and an upsert's JSON
 * body (binary as base64) may not pass 1 MiB: about 786,000 raw bytes on Azurite.
 */
const MAX_ENTRY_VALUE_BYTES = 760 * 1024;
/** Readers settle a space's pending markers once they are this old (a live commit takes ms). */
const SETTLE_MARKERS_AFTER_MS = 2_000;
/** Operations of one entity group transaction: Azure allows 100. */
const MAX_TRANSACTION_OPERATIONS = 100;
const HEX_DIGIT_LIMIT = "g";
/** Segments whose last completed fanout a backend remembers (oldest forgotten first). */
const MAX_REMEMBERED_FANOUTS = 10_000;

function rowEnd(prefix: string): string {
  // Hex row keys of a prefix ending in "00" (0x00) end before the same prefix ending in "01".
  return prefix.slice(0, -2) + "01";
}

/** The row key of the marker of a pending fanout: the key `markerRow` gives its chunk. */
function pendingMarkerKey(space: string, pending: PendingFanout): string {
  return markerRowPrefix(space) + toHex(i64(pending.timestamp).bytes) +
    pending.trxId.replaceAll("-", "");
}

/** A {@linkcode StoreBackend} over one Azure table. */
export class AzureBackend implements StoreBackend {
  readonly limits: BackendLimits;
  #client: TableClient;
  #batches: BatchSender;
  #settings: AzureBackendSettings;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<void> | undefined;
  /**
   * Segment partition → the head as this backend's last commit left it (ETag from the commit's
   * answer), whose fanout this backend completed. Its pending mark stays (clearing it would cost
   * two requests per chunk; the next commit overwrites it): `readHead` need not repeat that
   * fanout, and `readHeadForWrite` need not read the head again. Other processes, and this one
   * once it forgot, repeat the fanout idempotently; a stale entry fails one commit (If-Match).
   */
  #lastCommits = new Map<string, StoredHead>();

  constructor(client: TableClient, settings: AzureBackendSettings) {
    this.#client = client;
    this.#batches = new BatchSender(client);
    this.#settings = settings;
    this.limits = settings.limits;
  }

  /** Runs one Azure call with retries; failures become streamkit errors saying `what` failed. */
  async #call<T>(what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await withRetry(this.#settings.retry, signal, call);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw toStreamkitError(error, what, this.#settings.credentialKind);
    }
  }

  async #getRow(partitionKey: string, rowKey: string, what: string): Promise<Row | undefined> {
    try {
      return await withRetry(
        this.#settings.retry,
        undefined,
        () => this.#client.getEntity<Record<string, unknown>>(partitionKey, rowKey) as Promise<Row>,
      );
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toStreamkitError(error, what, this.#settings.credentialKind);
    }
  }

  /** Rows matching `filter`, a page at a time, each page retried on its own. */
  async *#rows(filter: string, signal?: AbortSignal, limit = 0): AsyncIterable<Row> {
    let continuationToken: string | undefined;
    let count = 0;
    do {
      const maxPageSize = limit > 0
        ? Math.min(this.#settings.pageSize, limit - count)
        : this.#settings.pageSize;
      const page = await this.#call("query", async () => {
        const pages = this.#client.listEntities<Record<string, unknown>>({
          queryOptions: { filter },
        })
          .byPage({ maxPageSize, continuationToken });
        const next = await pages.next();
        return next.done ? undefined : next.value;
      }, signal);
      if (!page) return;
      for (const row of page) {
        yield row as Row;
        if (limit > 0 && ++count >= limit) return;
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  async #readStoredHead(space: string, segment: string): Promise<StoredHead | undefined> {
    const row = await this.#getRow(
      segmentPartition(space, segment),
      HEAD_ROW,
      "read a segment head",
    );
    return row && headOf(space, segment, row);
  }

  readHeadForWrite(space: string, segment: string): Promise<SegmentHead | undefined> {
    const last = this.#lastCommits.get(segmentPartition(space, segment));
    return last
      ? Promise.resolve({ ...last, status: { ...last.status } })
      : this.readHead(space, segment);
  }

  async readHead(space: string, segment: string): Promise<SegmentHead | undefined> {
    const head = await this.#readStoredHead(space, segment);
    if (!head?.pending) return head;
    // This backend completed that fanout itself; the mark was merely left in place.
    if (
      this.#lastCommits.get(segmentPartition(space, segment))?.pending?.trxId === head.pending.trxId
    ) {
      return head;
    }
    // A writer committed a chunk but did not finish its fanout: finish it before going on, and
    // delete its marker too (readers of the space stop below a marker's timestamp).
    await this.#completeFanout(space, segment, head.pending, undefined);
    await this.#deleteMarker(pendingMarkerKey(space, head.pending));
    await this.#clearPending(space, segment, head);
    return await this.readHead(space, segment);
  }

  async #step(step: CommitStep): Promise<void> {
    await this.#settings.afterCommitStep?.(step);
  }

  async commit(chunk: ChunkCommit): Promise<void> {
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
    await this.#call(
      "write the pending marker",
      () => this.#client.upsertEntity(marker, "Replace"),
    );
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
        const etags = await this.#call("commit a chunk", () => this.#batches.submit(actions));
        headEtag = etags.at(-1);
        break;
      } catch (error) {
        // An answer may have been lost after the commit happened: the first row says whose it is.
        if (await this.#committed(partition, first, trx.id)) break;
        // Another process may only have cleared the head's pending mark (a new ETag, the same
        // head): then the chunk still continues it, and goes again under the new ETag.
        const moved = attempt === 1 && chunk.head
          ? await this.#readStoredHead(space, segment)
          : undefined;
        if (
          moved && chunk.head && moved.pending === undefined &&
          moved.status.lastSequence === chunk.head.status.lastSequence &&
          moved.trxNumber === chunk.head.trxNumber
        ) {
          actions[actions.length - 1] = { kind: "update", row: head, etag: moved.etag };
          continue;
        }
        await this.#deleteMarker(marker.rowKey).catch(() => {});
        throw await this.#lost(space, segment, first, error);
      }
    }
    await this.#step("commit");

    const rows = entries.map((entry, i) =>
      entryRow(spacePartition(space), spaceRow(timestamp, segment, entry.sequence), values[i])
    );
    await this.#completeFanout(space, segment, pending, rows);
    // The marker goes before the head's mark: once the fanout is done the marker is of no use,
    // and it holds back readers of the space. A crash between the two leaves a mark whose
    // (idempotent) fanout the next head read repeats; the other order would leave a marker
    // that no head read finds and that stalls readers until a sweep.
    await this.#deleteMarker(marker.rowKey);
    await this.#step("marker-deleted");
    // The head's mark stays: the fanout is whole, and the next commit replaces the head anyway
    // (its If-Match uses the etag readHead returns). Until then this backend's head reads skip
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
    await this.#step("head-cleared");
  }

  async #committed(partition: string, firstSequence: number, trxId: string): Promise<boolean> {
    const row = await this.#getRow(partition, sequenceRow(firstSequence), "check a commit");
    return row !== undefined && entryOf(row).trx.id === trxId;
  }

  /** The error of a writer that lost the race for its sequences (or failed before committing). */
  async #lost(space: string, segment: string, first: number, error: unknown): Promise<Error> {
    const status = statusOf(error instanceof StreamkitError ? error.cause : error);
    if (status !== 409 && status !== 412) {
      return toStreamkitError(error, "commit a chunk", this.#settings.credentialKind);
    }
    const head = await this.#readStoredHead(space, segment);
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
  async #completeFanout(
    space: string,
    segment: string,
    pending: PendingFanout,
    rows: Row[] | undefined,
  ): Promise<void> {
    const spaceRows = rows ?? [];
    if (!rows) {
      const partition = segmentPartition(space, segment);
      const filter = odata`PartitionKey eq ${partition} and RowKey ge ${
        sequenceRow(pending.firstSequence)
      } and RowKey le ${sequenceRow(pending.lastSequence)}`;
      for await (const row of this.#rows(filter)) {
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
      await this.#call("write space rows", () => this.#batches.submit(batch));
    }
    await this.#step("space-rows");
    if (pending.trxNumber === 1) {
      await this.#call("write the space inventory", () =>
        this.#client.upsertEntity(
          { partitionKey: SPACE_INVENTORY_PARTITION, rowKey: nameRow(space), name: space },
          "Replace",
        ));
      await this.#call("write the segment inventory", () =>
        this.#client.upsertEntity(
          {
            partitionKey: segmentInventoryPartition(space),
            rowKey: nameRow(segment),
            name: segment,
          },
          "Replace",
        ));
    }
    await this.#step("inventory");
  }

  /** Marks the head's fanout done; a head changed meanwhile means another writer did it. */
  async #clearPending(space: string, segment: string, head: StoredHead): Promise<void> {
    const row = headRow(segmentPartition(space, segment), head, undefined);
    try {
      await withRetry(
        this.#settings.retry,
        undefined,
        () => this.#client.updateEntity(row, "Replace", { etag: head.etag }),
      );
    } catch (error) {
      if (statusOf(error) !== 412) {
        throw toStreamkitError(error, "clear a pending fanout", this.#settings.credentialKind);
      }
    }
  }

  async #deleteMarker(rowKey: string): Promise<void> {
    try {
      await withRetry(
        this.#settings.retry,
        undefined,
        () => this.#client.deleteEntity(MARKER_PARTITION, rowKey),
      );
    } catch (error) {
      if (statusOf(error) !== 404) {
        throw toStreamkitError(error, "delete a pending marker", this.#settings.credentialKind);
      }
    }
  }

  /**
   * Completes every pending fanout whose commit happened and deletes markers whose commit never
   * happened (once they are older than `abandonedMarkerMs`: their writer may still be at work;
   * at once when the commit can never happen: an unreadable marker, or one whose sequences
   * another transaction took). A marker that cannot be applied now (say, Azure is unavailable)
   * is counted as failed, never thrown.
   */
  async recover(): Promise<{ completed: number; abandoned: number; failed: number }> {
    const result = { completed: 0, abandoned: 0, failed: 0 };
    const filter = odata`PartitionKey eq ${MARKER_PARTITION}`;
    for await (const row of this.#rows(filter)) {
      try {
        const outcome = await this.#settleMarker(row);
        if (outcome !== "live") result[outcome]++;
      } catch {
        result.failed++;
      }
    }
    return result;
  }

  /**
   * Settles one pending marker: completes the fanout of a commit that happened, deletes the
   * marker of a commit that never will; leaves (`live`) one whose writer may still commit.
   */
  async #settleMarker(row: Row): Promise<"completed" | "abandoned" | "live"> {
    let marker: ReturnType<typeof markerOf>;
    try {
      marker = markerOf(row);
    } catch {
      // No writer can ever apply a marker nobody can read; it would hold back readers of the
      // space whose key range it lies in for ever.
      await this.#deleteMarker(row.rowKey);
      return "abandoned";
    }
    const { txn, createdAt } = marker;
    const head = await this.#readStoredHead(txn.space, txn.segment);
    if (head?.pending?.trxId === txn.trx.id) {
      await this.#completeFanout(txn.space, txn.segment, head.pending, undefined);
      await this.#deleteMarker(row.rowKey);
      await this.#clearPending(txn.space, txn.segment, head);
      return "completed";
    }
    const partition = segmentPartition(txn.space, txn.segment);
    if (await this.#committed(partition, txn.firstSequence, txn.trx.id)) {
      // Committed, and the head moved on: its fanout finished before the head was cleared.
      await this.#deleteMarker(row.rowKey);
      return "completed";
    }
    if (
      (head !== undefined && head.status.lastSequence >= txn.firstSequence) ||
      Date.now() - createdAt >= this.#settings.abandonedMarkerMs
    ) {
      // Another transaction owns its first sequence (a loser's marker: its insert can only
      // fail), or its writer is presumed dead.
      await this.#deleteMarker(row.rowKey);
      return "abandoned";
    }
    return "live";
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
    for await (const row of this.#rows(filter, signal, range.limit)) yield entryOf(row);
  }

  async *scanSpace(space: string, range: SpaceRange, signal?: AbortSignal): AsyncIterable<Entry> {
    const prefixLength = spaceIndexPrefix(space).length;
    let upper = toHex(range.lt.subarray(prefixLength));
    // Across processes: never read at or past the oldest chunk still being committed anywhere.
    const markers = odata`PartitionKey eq ${MARKER_PARTITION} and RowKey ge ${
      markerRowPrefix(space)
    } and RowKey lt ${rowEnd(markerRowPrefix(space))}`;
    for await (const marker of this.#rows(markers, signal)) {
      // A marker older than a commit takes may belong to a crashed writer or a loser: settle
      // it rather than hold readers back until the sweep.
      const age = Date.now() - Number(marker.createdAt);
      if (!(age < SETTLE_MARKERS_AFTER_MS)) {
        const outcome = await this.#settleMarker(marker).catch(() => "live" as const);
        if (outcome !== "live") continue;
      }
      const timestampHex = marker.rowKey.slice(
        markerRowPrefix(space).length,
        markerRowPrefix(space).length + 16,
      );
      if (timestampHex < upper) upper = timestampHex;
      break;
    }
    const lower = toHex(range.gt.subarray(prefixLength));
    const filter = odata`PartitionKey eq ${
      spacePartition(space)
    } and RowKey gt ${lower} and RowKey lt ${upper}`;
    for await (const row of this.#rows(filter, signal, range.limit)) yield entryOf(row);
  }

  async *listSpaces(signal?: AbortSignal): AsyncIterable<string> {
    yield* this.#names(SPACE_INVENTORY_PARTITION, signal);
  }

  async *listSegments(space: string, signal?: AbortSignal): AsyncIterable<string> {
    yield* this.#names(segmentInventoryPartition(space), signal);
  }

  async *#names(partition: string, signal?: AbortSignal): AsyncIterable<string> {
    const filter = odata`PartitionKey eq ${partition} and RowKey lt ${HEX_DIGIT_LIMIT}`;
    for await (const row of this.#rows(filter, signal)) {
      if (typeof row.name !== "string") {
        throw new StreamkitError("CorruptData", `inventory row ${row.rowKey} has no name`);
      }
      yield row.name;
    }
  }

  /** Runs {@linkcode AzureBackend.recover} every `intervalMs` until `close()`. */
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

  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    await this.#sweeping;
  }
}
