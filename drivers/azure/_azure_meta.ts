// A store's checkpoints and leases (StoreBackend.getMeta/putMeta/listMeta): every record in the
// `meta` partition of the store's table, so that one putMeta is one entity group transaction,
// conditional on each record's ETag, atomic across processes (PROTOCOL.md I16).

import { createHash } from "node:crypto";
import { odata } from "@azure/data-tables";
import { compareKeys, fromHex, StreamkitError } from "@streamkit/core";
import { decodeUtf8, type MetaKind, type MetaRecord, type MetaWrite } from "@streamkit/core/driver";
import { type BatchAction, MAX_TRANSACTION_OPERATIONS } from "./_batch.ts";
import { META_PARTITION, nameRow, type Row, valueOf, valueProperties } from "./_entities.ts";
import { requestStatusOf } from "./_requests.ts";
import type { AzureTable } from "./_table.ts";

/**
 * A name of up to this many UTF-8 bytes (every name core accepts) is whole in its row key.
 * Fixed for good: stored records are keyed by it.
 */
const WHOLE_NAME_BYTES = 200;
/** Between a long name's first bytes and the hash of the whole; sorts after every hex digit. */
const LONG_NAME_MARK = "~";
/** The answers of a transaction whose condition failed: exists, changed, gone. */
const REFUSED = new Set([404, 409, 412]);

const utf8 = new TextEncoder();

/**
 * Row key of record `name` of `kind`: `<kind>:` and the hex of the name's UTF-8 bytes, so keys
 * sort as names do. A name longer than a key may hold keeps its first bytes, then `~` and the
 * SHA-256 of its hex (the name is in the row's `name` property then).
 */
export function metaRowKey(kind: MetaKind, name: string): string {
  const hex = nameRow(name);
  if (hex.length <= 2 * WHOLE_NAME_BYTES) return `${kind}:${hex}`;
  const digest = createHash("sha256").update(hex).digest("hex");
  return `${kind}:${hex.slice(0, 2 * WHOLE_NAME_BYTES)}${LONG_NAME_MARK}${digest}`;
}

/** The entity of one write; `writeId` tells a write whose answer was lost (see `put`). */
function metaRow(write: MetaWrite, writeId: string): Row {
  const rowKey = metaRowKey(write.kind, write.name);
  return {
    partitionKey: META_PARTITION,
    rowKey,
    ...valueProperties(write.value),
    writeId,
    ...(rowKey.includes(LONG_NAME_MARK) ? { name: write.name } : {}),
  };
}

function corrupt(rowKey: string, why: string): StreamkitError {
  return new StreamkitError("CorruptData", `meta row ${rowKey.slice(0, 80)}: ${why}`);
}

/** The name a whole key holds: its hex decoded as strict UTF-8. */
function wholeName(rowKey: string, hex: string): string {
  try {
    return decodeUtf8(fromHex(hex));
  } catch {
    throw corrupt(rowKey, "its key is no name's hex");
  }
}

/** Names in UTF-8 byte order. */
function byBytes(names: string[]): string[] {
  return names.map((name) => ({ name, key: utf8.encode(name) }))
    .sort((a, b) => compareKeys(a.key, b.key))
    .map(({ name }) => name);
}

/** The checkpoints and leases of one store's table. */
export class MetaRecords {
  readonly #table: AzureTable;

  constructor(table: AzureTable) {
    this.#table = table;
  }

  /** The record, its version the entity's ETag; `undefined` when there is none. */
  async get(kind: MetaKind, name: string, signal?: AbortSignal): Promise<MetaRecord | undefined> {
    const row = await this.#table.row(
      META_PARTITION,
      metaRowKey(kind, name),
      `read a ${kind}`,
      signal,
    );
    if (!row) return undefined;
    if (typeof row.etag !== "string") throw corrupt(row.rowKey, "read without an ETag");
    // A copy: the SDK hands back Node Buffers.
    return { value: new Uint8Array(valueOf(row, `${kind} row`)), version: row.etag };
  }

  /**
   * One entity group transaction: an insert for each record expected absent, a replace
   * If-Match its version for each other one. `false` when the service refused a condition
   * (409 exists, 412 changed, 404 gone): nothing was written. A failure costs a read of each
   * record, to tell a refusal from a write of this call whose answer was lost.
   */
  async put(writes: readonly MetaWrite[], signal?: AbortSignal): Promise<boolean> {
    if (writes.length === 0) return true;
    if (writes.length > MAX_TRANSACTION_OPERATIONS) {
      throw new StreamkitError(
        "InvalidArgument",
        `writes: at most ${MAX_TRANSACTION_OPERATIONS} records in one write on Azure, got ${writes.length}`,
      );
    }
    const writeId = crypto.randomUUID();
    const actions: BatchAction[] = writes.map((write) => {
      const row = metaRow(write, writeId);
      return write.expected === undefined
        ? { kind: "create", row }
        : { kind: "update", row, etag: write.expected };
    });
    if (new Set(actions.map(({ row }) => row.rowKey)).size !== actions.length) {
      throw new StreamkitError("InvalidArgument", "writes: a record is written twice");
    }
    try {
      await this.#table.submit(actions, "write checkpoints and leases", undefined, signal);
      return true;
    } catch (error) {
      if (signal?.aborted) throw error;
      const refused = REFUSED.has(requestStatusOf(error) ?? 0);
      // An attempt may have applied with its answer lost and a retry then been refused (retried
      // by the driver, or unseen by the HTTP client on a dropped connection): the rows tell.
      let carried: boolean;
      try {
        carried = await this.#carries(actions, writeId);
      } catch (readError) {
        throw refused ? readError : error;
      }
      if (carried) return true;
      if (refused) return false;
      throw error;
    }
  }

  /**
   * Whether a record of `actions` carries `writeId`: all of them were written by that write
   * then (a transaction applies whole). Each is read, as one may have been overwritten since.
   */
  async #carries(actions: BatchAction[], writeId: string): Promise<boolean> {
    const rows = await Promise.all(
      actions.map(({ row }) => this.#table.row(META_PARTITION, row.rowKey, "check a meta write")),
    );
    return rows.some((row) => row?.writeId === writeId);
  }

  /**
   * The names of `kind`, in UTF-8 byte order: the keys' order, but for long names sharing their
   * keyed first bytes, whose keys are adjacent and sorted here (keys only are fetched).
   */
  async *list(kind: MetaKind, signal?: AbortSignal): AsyncIterable<string> {
    const prefix = `${kind}:`;
    // `;` follows `:`: the end of the kind's keys.
    const filter =
      odata`PartitionKey eq ${META_PARTITION} and RowKey gt ${prefix} and RowKey lt ${`${kind};`}`;
    let stem: string | undefined;
    let group: string[] = [];
    for await (const row of this.#table.rows(filter, signal, 0, ["rowKey", "name"])) {
      const key = row.rowKey.slice(prefix.length);
      const mark = key.indexOf(LONG_NAME_MARK);
      const rowStem = mark < 0 ? undefined : key.slice(0, mark);
      if (group.length > 0 && rowStem !== stem) {
        yield* byBytes(group);
        group = [];
      }
      if (rowStem === undefined) {
        yield wholeName(row.rowKey, key);
        continue;
      }
      if (typeof row.name !== "string" || metaRowKey(kind, row.name) !== row.rowKey) {
        throw corrupt(row.rowKey, "its name property does not match its key");
      }
      stem = rowStem;
      group.push(row.name);
    }
    if (group.length > 0) yield* byBytes(group);
  }
}
