// How entries, heads and pending markers are laid out as Azure table entities (PROTOCOL.md I1).

import { createHash } from "node:crypto";
import { tableTimeOf } from "./_table_clock.ts";
import {
  encodeFirst,
  encodeKey,
  type Entry,
  i64,
  StreamkitError,
  toHex,
  u64,
} from "@streamkit/core";
import {
  concatBytes,
  prefixEnd,
  type SegmentHead,
  type TransactionRecord,
} from "@streamkit/core/driver";
import {
  compressEntry,
  compressTransaction,
  decompressEntry,
  decompressTransaction,
} from "@streamkit/core/zstd";

/** Azure refuses a binary property over 64 KiB: longer values are split across v0, v1, ... */
export const PROPERTY_BYTES = 64 * 1024;
/** Row key of a segment's head row; not hex, so it never collides with (and sorts after) entry rows. */
export const HEAD_ROW = "head";
/**
 * Partition of the pending markers, each holding the transaction record of a chunk (without its
 * entries); not hex, so it never collides with a data partition.
 */
export const MARKER_PARTITION = "txn";
/**
 * Row keys of the marker partition that are no markers start with this (not a hex digit, so no
 * space's marker range holds them): the rows a process writes to learn the table's time.
 */
export const CLOCK_ROW_PREFIX = "~clock-";
/** Entries are decompressed into at most this many bytes: a payload cap of 1 MiB plus names. */
const MAX_ENTRY_BYTES = 2 * 1024 * 1024;

const utf8 = new TextEncoder();
const SEPARATOR = new Uint8Array([0x00]);

/** An entity as the SDK takes and returns it. */
export type Row = { partitionKey: string; rowKey: string; etag?: string } & Record<string, unknown>;

/** Azure keys hold at most 1 KiB of UTF-16: 512 characters. */
const MAX_KEY_CHARACTERS = 512;

/**
 * Partition of a segment's entries and head: `hex(DAT,SEGMENTS,space,segment)`; when two long
 * names make that longer than a key may be, `s` + the SHA-256 of the lexkey (partitions are only
 * ever looked up by equality, and `s` is no hex digit, so the two forms never meet).
 */
export function segmentPartition(space: string, segment: string): string {
  const key = encodeKey("DAT", "SEGMENTS", space, segment);
  const hex = toHex(key);
  return hex.length <= MAX_KEY_CHARACTERS
    ? hex
    : `s${createHash("sha256").update(key).digest("hex")}`;
}

/** Row key of an entry in its segment partition: `hex(u64 sequence)`. */
export function sequenceRow(sequence: number): string {
  return toHex(u64(sequence).bytes);
}

/**
 * Partition of shard `shard` of a space's timeline: `hex(DAT,SPACES,space)` in a store of one
 * shard, else `hex(DAT,SPACES,space,u64 shard)`.
 */
export function spacePartition(space: string, shard = 0, shards = 1): string {
  return toHex(
    shards === 1
      ? encodeKey("DAT", "SPACES", space)
      : encodeKey("DAT", "SPACES", space, u64(shard)),
  );
}

/** Every shard partition of a space's timeline, shard 0 first. */
export function spacePartitions(space: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => spacePartition(space, shard, shards));
}

/**
 * The shard of the space index that holds `segment`'s rows: FNV-1a (32 bits) of its UTF-8 bytes,
 * modulo `shards`. Fixed for good: a store's rows were written where it says.
 */
export function spaceShardOf(segment: string, shards: number): number {
  if (shards === 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(segment)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % shards;
}

/** Partition of the store's own settings (not hex: it never collides with a data partition). */
export const SETTINGS_PARTITION = "store";
/** Row of the settings that fix the table's layout: `spaceShards`. */
export const LAYOUT_ROW = "layout";
/**
 * Partition of the store's checkpoints and leases, all of them, so that one entity group
 * transaction can write any of them together (not hex: it never collides with a data partition).
 */
export const META_PARTITION = "meta";

/** Row key of an entry in its space partition: `hex(i64 timestamp, segment, u64 sequence)`. */
export function spaceRow(timestamp: number, segment: string, sequence: number): string {
  return toHex(
    concatBytes(
      i64(timestamp).bytes,
      SEPARATOR,
      utf8.encode(segment),
      SEPARATOR,
      u64(sequence).bytes,
    ),
  );
}

/** Partition of the space inventory; rows keyed by `hex(space)`. */
export const SPACE_INVENTORY_PARTITION: string = toHex(encodeKey("INV", "SPACES"));

/** Partition of a space's segment inventory; rows keyed by `hex(segment)`. */
export function segmentInventoryPartition(space: string): string {
  return toHex(encodeKey("INV", "SEGMENTS", space));
}

/** Row key of a name in an inventory partition. */
export function nameRow(name: string): string {
  return toHex(utf8.encode(name));
}

/** The first row key of `space`'s pending markers: `hex(space, 0x00)`. */
function markerRowPrefix(space: string): string {
  return toHex(encodeFirst(space));
}

/**
 * Row key of the pending marker of a chunk of `space`: `hex(space, 0x00, i64 timestamp, u64 last
 * sequence)` and the trx id's hex digits, so a space's markers are one key range, oldest first,
 * and the chunks of one trx (a restored trx cut into several chunks) have markers of their own.
 * Readers parse the timestamp alone, so a key without the last sequence reads the same.
 */
export function markerRowKey(
  space: string,
  timestamp: number,
  lastSequence: number,
  trxId: string,
): string {
  return markerRowPrefix(space) + toHex(i64(timestamp).bytes) +
    toHex(u64(lastSequence).bytes) + trxId.replaceAll("-", "");
}

/** The row keys of `space`'s pending markers: from `first` (inclusive) to `end` (exclusive). */
export function markerRowRange(space: string): { first: string; end: string } {
  const prefix = encodeFirst(space);
  return { first: toHex(prefix), end: toHex(prefixEnd(prefix)) };
}

/**
 * The timestamp in the row key of a marker of `space`; `undefined` when the key does not carry
 * one (no writer wrote it).
 */
export function markerTimestamp(space: string, rowKey: string): number | undefined {
  const at = markerRowPrefix(space).length;
  const hex = rowKey.slice(at, at + 16);
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
  const timestamp = BigInt.asIntN(64, BigInt(`0x${hex}`) ^ (1n << 63n));
  return timestamp >= BigInt(Number.MIN_SAFE_INTEGER) &&
      timestamp <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(timestamp)
    : undefined;
}

/** Splits `bytes` into properties `v0`, `v1`, ... of at most {@linkcode PROPERTY_BYTES}. */
export function valueProperties(bytes: Uint8Array): Record<string, Uint8Array> {
  const properties: Record<string, Uint8Array> = {};
  for (let at = 0, i = 0; at < bytes.length || i === 0; at += PROPERTY_BYTES, i++) {
    // A copy: the SDK base64-encodes a view's whole buffer, and encodings share pooled buffers.
    properties[`v${i}`] = bytes.slice(at, at + PROPERTY_BYTES);
  }
  return properties;
}

/** Joins the `v0`, `v1`, ... properties of a row back into bytes. */
export function valueOf(row: Row, what: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0;; i++) {
    const part = row[`v${i}`];
    if (part === undefined) break;
    if (!(part instanceof Uint8Array)) {
      throw new StreamkitError("CorruptData", `${what}: property v${i} is not binary`);
    }
    parts.push(part);
  }
  if (parts.length === 0) throw new StreamkitError("CorruptData", `${what}: no value properties`);
  return parts.length === 1 ? parts[0] : concatBytes(...parts);
}

/** The entity of an entry, for its segment or its space partition. */
export function entryRow(partitionKey: string, rowKey: string, compressed: Uint8Array): Row {
  return { partitionKey, rowKey, ...valueProperties(compressed) };
}

/** The compressed bytes of an entry, as stored in both of its rows. */
export function compressForRow(entry: Entry): Uint8Array {
  return compressEntry(entry);
}

/** Decodes an entry row. */
export function entryOf(row: Row): Entry {
  const entry = decompressEntry(valueOf(row, `row ${row.rowKey}`), {
    maxDecompressedBytes: MAX_ENTRY_BYTES,
  });
  // The SDK hands back Node Buffers: give callers a plain Uint8Array.
  entry.payload = new Uint8Array(
    entry.payload.buffer,
    entry.payload.byteOffset,
    entry.payload.byteLength,
  );
  return entry;
}

/**
 * The chunks whose fanout (space rows, inventory) a head still owes: sequences `firstSequence` to
 * `lastSequence`, and the trx and timestamp of the last of them (PROTOCOL.md I4).
 */
export interface PendingFanout {
  trxId: string;
  trxNumber: number;
  firstSequence: number;
  lastSequence: number;
  timestamp: number;
  /** The timestamp in the key of the last chunk's marker (absent: `timestamp`). */
  markerAt?: number;
}

/**
 * A head as read from its row, with its pending fanout and ETag. A fence row (a segment with no
 * entries whose head a resolver wrote so that a dead writer's first commit can only fail) reads
 * back with `lastSequence` 0.
 */
export interface StoredHead extends SegmentHead {
  pending: PendingFanout | undefined;
  etag: string;
}

/** The head row a resolver writes for a segment with no entries (PROTOCOL.md I12). */
export function emptyHeadRow(partitionKey: string): Row {
  return {
    partitionKey,
    rowKey: HEAD_ROW,
    firstSequence: "0",
    firstTimestamp: "0",
    lastSequence: "0",
    lastTimestamp: "0",
    trxNumber: "0",
    pending: "",
  };
}

/** The head row of a segment, optionally marking a chunk's fanout as pending. */
export function headRow(
  partitionKey: string,
  head: SegmentHead,
  pending: PendingFanout | undefined,
): Row {
  const { status } = head;
  return {
    partitionKey,
    rowKey: HEAD_ROW,
    firstSequence: String(status.firstSequence),
    firstTimestamp: String(status.firstTimestamp),
    lastSequence: String(status.lastSequence),
    lastTimestamp: String(status.lastTimestamp),
    trxNumber: String(head.trxNumber),
    pending: pending ? JSON.stringify(pending) : "",
  };
}

function integerOf(row: Row, name: string, where: string): number {
  const value = Number(row[name]);
  if (typeof row[name] !== "string" || !Number.isSafeInteger(value)) {
    throw new StreamkitError("CorruptData", `${where}: ${name} is not an integer`);
  }
  return value;
}

/** Reads a head row back. */
export function headOf(space: string, segment: string, row: Row): StoredHead {
  const where = `head of segment ${JSON.stringify(segment)} in space ${JSON.stringify(space)}`;
  let pending: PendingFanout | undefined;
  if (typeof row.pending === "string" && row.pending !== "") {
    try {
      pending = JSON.parse(row.pending);
    } catch (error) {
      throw new StreamkitError("CorruptData", `${where}: pending is not JSON`, { cause: error });
    }
  }
  return {
    status: {
      space,
      segment,
      firstSequence: integerOf(row, "firstSequence", where),
      firstTimestamp: integerOf(row, "firstTimestamp", where),
      lastSequence: integerOf(row, "lastSequence", where),
      lastTimestamp: integerOf(row, "lastTimestamp", where),
    },
    trxNumber: integerOf(row, "trxNumber", where),
    pending,
    etag: String(row.etag),
    version: row.etag,
  };
}

/**
 * The pending marker of a chunk about to be stamped: its transaction record without entries,
 * whose `timestamp` is the lowest the chunk will take (the one in the key).
 */
export function markerRow(record: TransactionRecord): Row {
  return {
    partitionKey: MARKER_PARTITION,
    rowKey: markerRowKey(record.space, record.timestamp, record.lastSequence, record.trx.id),
    ...valueProperties(compressTransaction({ ...record, entries: [] })),
  };
}

/**
 * Reads a pending marker back: the chunk's transaction record, and the table's time when it was
 * written (its `Timestamp`; `undefined` if the row carries none).
 */
export function markerOf(row: Row): { record: TransactionRecord; writtenAt: number | undefined } {
  const record = decompressTransaction(valueOf(row, `marker ${row.rowKey}`), {
    maxDecompressedBytes: 64 * 1024,
  });
  return { record, writtenAt: rowTime(row) };
}

/** The table's time of a row's last write (its `Timestamp`), in Unix ms; `undefined` if none. */
export function rowTime(row: Row): number | undefined {
  return tableTimeOf(row.timestamp);
}
