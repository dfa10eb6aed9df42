// One store's table as the rest of the driver uses it: rows read, queried and written, each
// request through AzureRequests.send; and the reads and deletes the commit protocol and
// recovery share.

import type { TableClient } from "@azure/data-tables";
import { type BatchAction, BatchSender } from "./_batch.ts";
import {
  entryOf,
  HEAD_ROW,
  headOf,
  MARKER_PARTITION,
  type Row,
  segmentPartition,
  sequenceRow,
  type StoredHead,
} from "./_entities.ts";
import type { AzureRequests } from "./_requests.ts";

/** Rows fetched per query page. */
const PAGE_SIZE = 1_000;

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
  row(partitionKey: string, rowKey: string, what: string): Promise<Row | undefined> {
    return this.#requests.send(
      what,
      () => this.#client.getEntity<Record<string, unknown>>(partitionKey, rowKey) as Promise<Row>,
      { undefinedOn: 404 },
    );
  }

  /** Rows matching `filter`, a page at a time, each page retried on its own. */
  async *rows(filter: string, signal?: AbortSignal, limit = 0): AsyncIterable<Row> {
    let continuationToken: string | undefined;
    let count = 0;
    do {
      const maxPageSize = limit > 0 ? Math.min(PAGE_SIZE, limit - count) : PAGE_SIZE;
      const page = await this.#requests.send("query", async () => {
        const pages = this.#client.listEntities<Record<string, unknown>>({
          queryOptions: { filter },
        })
          .byPage({ maxPageSize, continuationToken });
        const next = await pages.next();
        return next.done ? undefined : next.value;
      }, { signal });
      if (!page) return;
      for (const row of page) {
        yield row as Row;
        if (limit > 0 && ++count >= limit) return;
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  /** Inserts or replaces one row. */
  async upsert(row: Row, what: string): Promise<void> {
    await this.#requests.send(what, () => this.#client.upsertEntity(row, "Replace"));
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

  /** Submits one entity group transaction; resolves with each operation's new ETag. */
  submit(actions: BatchAction[], what: string): Promise<(string | undefined)[]> {
    return this.#requests.send(what, () => this.#batches.submit(actions));
  }

  /** The head row of a segment, read back; `undefined` for a segment with no entries. */
  async readHead(space: string, segment: string): Promise<StoredHead | undefined> {
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
