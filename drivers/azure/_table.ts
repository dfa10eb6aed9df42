// One store's table as the rest of the driver uses it: rows read, queried and written, each
// request through AzureRequests.send; and the reads and deletes the commit protocol and
// recovery share.

import { odata, type TableClient } from "@azure/data-tables";
import { StreamkitError } from "@streamkit/core";
import { type BatchAction, BatchSender } from "./_batch.ts";
import {
  entryOf,
  HEAD_ROW,
  headOf,
  LAYOUT_ROW,
  MARKER_PARTITION,
  type Row,
  segmentPartition,
  sequenceRow,
  SETTINGS_PARTITION,
  type StoredHead,
} from "./_entities.ts";
import type { AzureRequests } from "./_requests.ts";

/** Rows fetched per query page. */
const PAGE_SIZE = 1_000;

/** The most shards a space index may have: every space read asks each of them. */
export const MAX_SPACE_SHARDS = 32;

function shardsOf(row: Row): number {
  const shards = Number(row.spaceShards);
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SPACE_SHARDS) {
    throw new StreamkitError(
      "CorruptData",
      `the store's layout row says spaceShards ${
        String(row.spaceShards)
      }: not 1 to ${MAX_SPACE_SHARDS}`,
    );
  }
  return shards;
}

/** One store's table. */
export class AzureTable {
  readonly #client: TableClient;
  readonly #batches: BatchSender;
  readonly #requests: AzureRequests;

  constructor(client: TableClient, requests: AzureRequests) {
    this.#client = client;
    this.#batches = new BatchSender(client);
    this.#requests = requests;
  }

  /** The row at `partitionKey`/`rowKey`, or `undefined` if there is none. */
  row(
    partitionKey: string,
    rowKey: string,
    what: string,
    signal?: AbortSignal,
  ): Promise<Row | undefined> {
    return this.#requests.send(
      what,
      () => this.#client.getEntity<Record<string, unknown>>(partitionKey, rowKey) as Promise<Row>,
      { undefinedOn: 404, signal },
    );
  }

  /**
   * Rows matching `filter`, a page at a time (at most `limit` rows in all, when above 0), each
   * page retried on its own; only the properties `select` names when given. The next page is
   * asked for as soon as a page arrives, so it travels while the caller works through this one.
   */
  async *pages(
    filter: string,
    signal?: AbortSignal,
    limit = 0,
    select?: string[],
  ): AsyncIterable<Row[]> {
    const fetchPage = (continuationToken: string | undefined, maxPageSize: number) =>
      this.#requests.send("query", async () => {
        const pages = this.#client.listEntities<Record<string, unknown>>({
          queryOptions: { filter, select },
        })
          .byPage({ maxPageSize, continuationToken });
        const next = await pages.next();
        return next.done ? undefined : next.value;
      }, { signal });
    let count = 0;
    let next: ReturnType<typeof fetchPage> | undefined = fetchPage(
      undefined,
      limit > 0 ? Math.min(PAGE_SIZE, limit) : PAGE_SIZE,
    );
    while (next) {
      const page = await next;
      next = undefined;
      if (!page) return;
      const rows = (limit > 0 ? page.slice(0, limit - count) : page) as Row[];
      count += rows.length;
      const wanted = limit > 0 ? limit - count : PAGE_SIZE;
      if (page.continuationToken && wanted > 0) {
        next = fetchPage(page.continuationToken, Math.min(PAGE_SIZE, wanted));
        // Awaited on the next round; a caller that stops first never sees its failure.
        next.catch(() => {});
      }
      if (rows.length > 0) yield rows;
    }
  }

  /** Rows matching `filter`, one by one (see {@linkcode AzureTable.pages}). */
  async *rows(
    filter: string,
    signal?: AbortSignal,
    limit = 0,
    select?: string[],
  ): AsyncIterable<Row> {
    for await (const page of this.pages(filter, signal, limit, select)) yield* page;
  }

  /**
   * The number of shards of the table's space index: as recorded; recorded as `wanted` when the
   * table holds no row yet (a new store; the first process to record it wins); 1 for a table
   * with rows and no record.
   */
  async spaceShards(wanted: number): Promise<number> {
    const recorded = await this.row(SETTINGS_PARTITION, LAYOUT_ROW, "read the store's layout");
    if (recorded) return shardsOf(recorded);
    const anyRow = this.rows(odata`PartitionKey ne ${SETTINGS_PARTITION}`, undefined, 1);
    for await (const _row of anyRow) {
      // A process that created the table records the layout before writing any row: read again,
      // in case that happened since the first read.
      const since = await this.row(SETTINGS_PARTITION, LAYOUT_ROW, "read the store's layout");
      return since ? shardsOf(since) : 1;
    }
    const created = await this.#requests.send(
      "record the store's layout",
      () =>
        this.#client.createEntity({
          partitionKey: SETTINGS_PARTITION,
          rowKey: LAYOUT_ROW,
          spaceShards: String(wanted),
        }),
      { undefinedOn: 409 },
    );
    if (created !== undefined) return wanted;
    const winner = await this.row(SETTINGS_PARTITION, LAYOUT_ROW, "read the store's layout");
    if (!winner) throw new StreamkitError("CorruptData", "the store's layout row vanished");
    return shardsOf(winner);
  }

  /** Inserts or replaces one row; resolves with its new ETag. */
  async upsert(row: Row, what: string): Promise<string | undefined> {
    const answer = await this.#requests.send(what, () => this.#client.upsertEntity(row, "Replace"));
    return answer.etag;
  }

  /** Inserts one row; `false` if a row with its keys is there already. */
  async createIfAbsent(row: Row, what: string): Promise<boolean> {
    const answer = await this.#requests.send(what, () => this.#client.createEntity(row), {
      undefinedOn: 409,
    });
    return answer !== undefined;
  }

  /** Replaces one row if its ETag is still `etag`; `false` if it changed meanwhile. */
  async replaceIfUnchanged(row: Row, etag: string, what: string): Promise<boolean> {
    const answer = await this.#requests.send(
      what,
      () => this.#client.updateEntity(row, "Replace", { etag }),
      { undefinedOn: 412 },
    );
    return answer !== undefined;
  }

  /**
   * Submits one entity group transaction; resolves with each operation's new ETag.
   * `beforeAttempt` runs before each attempt (the first and every retry).
   */
  submit(
    actions: BatchAction[],
    what: string,
    beforeAttempt?: () => Promise<void>,
    signal?: AbortSignal,
  ): Promise<(string | undefined)[]> {
    return this.#requests.send(what, async () => {
      await beforeAttempt?.();
      return await this.#batches.submit(actions);
    }, { signal });
  }

  /** The head of a segment; `undefined` for a segment with no entries (or only a fence row). */
  async readHead(space: string, segment: string): Promise<StoredHead | undefined> {
    const head = await this.readHeadRow(space, segment);
    return head && head.status.lastSequence > 0 ? head : undefined;
  }

  /** The head row of a segment as it is, a fence row (`lastSequence` 0) included. */
  async readHeadRow(space: string, segment: string): Promise<StoredHead | undefined> {
    const row = await this.row(segmentPartition(space, segment), HEAD_ROW, "read a segment head");
    return row && headOf(space, segment, row);
  }

  /** Whether the chunk of `trxId` committed: its first row is there and is that chunk's. */
  async committed(
    space: string,
    segment: string,
    firstSequence: number,
    trxId: string,
  ): Promise<boolean> {
    const row = await this.row(
      segmentPartition(space, segment),
      sequenceRow(firstSequence),
      "check a commit",
    );
    return row !== undefined && entryOf(row).trx.id === trxId;
  }

  /** Deletes a pending marker; one already gone is fine. */
  async deleteMarker(rowKey: string): Promise<void> {
    await this.#requests.send(
      "delete a pending marker",
      () => this.#client.deleteEntity(MARKER_PARTITION, rowKey),
      { undefinedOn: 404 },
    );
  }
}
