/**
 * The checked entry and transaction writer behind `encode.ts` and the zstd forms: every field
 * is validated while the size is measured, then written in one pass into memory the caller
 * allocates.
 *
 * @module
 */

import { writeI64LE } from "./bytes.ts";
import { StreamkitError } from "../errors.ts";
import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import {
  ENTRY_FIXED_BYTES,
  ENTRY_LENGTH_BYTES,
  MAX_U32,
  METADATA_PAIR_PREFIX_BYTES,
  SHORT_STRING_UNITS,
  TRANSACTION_FIXED_BYTES,
} from "./_codec_layout.ts";
import { hexValue } from "./_hex.ts";

const DASH = 0x2d;
const utf8Encoder = new TextEncoder();

function invalid(field: string, message: string): StreamkitError {
  return new StreamkitError("InvalidArgument", `${field}: ${message}`);
}

/** Whose field a check is about: a lone entry, a transaction's header, or its entry #n. */
const LONE_ENTRY = -1;
const TRANSACTION_HEADER = -2;

// Error paths only, so the hot path builds no strings. `key` names a metadata value.
function fieldPath(owner: number, field: string, key?: string): string {
  const name = key === undefined ? field : `${field}[${JSON.stringify(key)}]`;
  if (owner === LONE_ENTRY) return `entry.${name}`;
  if (owner === TRANSACTION_HEADER) return `transaction.${name}`;
  return `transaction.entries[${owner}].${name}`;
}

function requireU64(value: unknown, owner: number, field: string): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(fieldPath(owner, field), `must be a non-negative safe integer, got ${value}`);
  }
}

function requireI64(value: unknown, owner: number, field: string): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw invalid(fieldPath(owner, field), `must be a safe integer, got ${value}`);
  }
}

/** The UTF-8 length of a well-formed string, or -1 when it holds a lone surrogate. */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      length += 1;
    } else if (unit < 0xd800 || unit > 0xdfff) {
      length += 2;
    } else {
      // A surrogate pair is two units and four bytes; anything else would be re-encoded as
      // U+FFFD and not round-trip.
      const next = text.charCodeAt(i + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return -1;
      length += 2;
      i++;
    }
  }
  return length;
}

/** Checks a string field and returns its UTF-8 length. */
function stringBytes(text: unknown, owner: number, field: string, key?: string): number {
  if (typeof text !== "string") {
    throw invalid(fieldPath(owner, field, key), `must be a string, got ${typeof text}`);
  }
  const length = utf8Length(text);
  if (length < 0) {
    throw invalid(
      fieldPath(owner, field, key),
      "must be well-formed Unicode (it has a lone surrogate)",
    );
  }
  return length;
}

/** Never equal to a caller's value: what a cache slot holds before its first use. */
const NOTHING_YET: unique symbol = Symbol("nothing yet");

/** The last name a field was measured from, and its UTF-8 length. */
interface MeasuredName {
  text: string | typeof NOTHING_YET;
  length: number;
}

/** {@linkcode stringBytes} of a name, remembering the last one measured for `field`. */
function nameBytes(
  text: unknown,
  owner: number,
  field: string,
  last: MeasuredName | undefined,
): number {
  if (last === undefined) return stringBytes(text, owner, field);
  if (text === last.text) return last.length;
  const length = stringBytes(text, owner, field);
  last.text = text as string;
  last.length = length;
  return length;
}

/** Checks an entry and returns its encoded size. */
function entryBytes(entry: Entry, owner: number, cache: EncodeCache | undefined): number {
  if (typeof entry !== "object" || entry === null) {
    throw invalid(
      owner === LONE_ENTRY ? "entry" : `transaction.entries[${owner}]`,
      "must be an object",
    );
  }
  requireU64(entry.sequence, owner, "sequence");
  requireI64(entry.timestamp, owner, "timestamp");
  const trx = entry.trx;
  if (typeof trx !== "object" || trx === null) {
    throw invalid(fieldPath(owner, "trx"), "must be an object");
  }
  requireU64(trx.number, owner, "trx.number");
  const payload = entry.payload;
  if (!(payload instanceof Uint8Array)) {
    throw invalid(fieldPath(owner, "payload"), "must be a Uint8Array");
  }
  if (payload.length > MAX_U32) {
    throw invalid(fieldPath(owner, "payload"), `must be at most ${MAX_U32} bytes`);
  }
  let size = ENTRY_FIXED_BYTES + payload.length;
  size += nameBytes(entry.space, owner, "space", cache?.space);
  size += nameBytes(entry.segment, owner, "segment", cache?.segment);
  const metadata = entry.metadata;
  if (metadata !== undefined) {
    if (typeof metadata !== "object" || metadata === null) {
      throw invalid(fieldPath(owner, "metadata"), "must be an object of strings");
    }
    for (const key of Object.keys(metadata)) {
      size += METADATA_PAIR_PREFIX_BYTES + stringBytes(key, owner, "metadata key");
      size += stringBytes(metadata[key], owner, "metadata", key);
    }
  }
  return size;
}

/** A checked u64 or i64 field: for a non-negative safe integer both write the same 8 bytes. */
function writeInt64(view: DataView, at: number, value: number): number {
  writeI64LE(view, at, value);
  return at + 8;
}

function invalidUuid(owner: number, field: string, text: unknown): StreamkitError {
  return invalid(
    fieldPath(owner, field),
    `must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(text)}`,
  );
}

/** The last UUID text a field was written from, and its 16 bytes. */
interface ParsedUuid {
  text: string | typeof NOTHING_YET;
  bytes: Uint8Array;
}

/**
 * What consecutive encodings remember: runs of entries mostly share their space and segment
 * (each name is measured once) and their trx id and node (each UUID is parsed once, then
 * copied). Owned by whoever encodes such runs, e.g. an `EntryEncoder`.
 */
export class EncodeCache {
  readonly space: MeasuredName = { text: NOTHING_YET, length: 0 };
  readonly segment: MeasuredName = { text: NOTHING_YET, length: 0 };
  readonly trxId: ParsedUuid = { text: NOTHING_YET, bytes: new Uint8Array(16) };
  readonly trxNode: ParsedUuid = { text: NOTHING_YET, bytes: new Uint8Array(16) };
}

function writeUuid(
  bytes: Uint8Array,
  at: number,
  text: unknown,
  owner: number,
  field: string,
  last: ParsedUuid | undefined,
): number {
  if (last !== undefined && text === last.text) {
    const parsed = last.bytes;
    for (let i = 0; i < 16; i++) bytes[at + i] = parsed[i];
    return at + 16;
  }
  if (typeof text !== "string" || text.length !== 36) {
    throw invalidUuid(owner, field, text);
  }
  let unit = 0;
  for (let i = 0; i < 16; i++) {
    if (unit === 8 || unit === 13 || unit === 18 || unit === 23) {
      if (text.charCodeAt(unit) !== DASH) throw invalidUuid(owner, field, text);
      unit++;
    }
    const high = hexValue(text.charCodeAt(unit));
    const low = hexValue(text.charCodeAt(unit + 1));
    if ((high | low) < 0) throw invalidUuid(owner, field, text);
    bytes[at + i] = (high << 4) | low;
    unit += 2;
  }
  if (last !== undefined) {
    last.bytes.set(bytes.subarray(at, at + 16));
    last.text = text;
  }
  return at + 16;
}

/** Writes a u32 length and the UTF-8 of a string already checked by `stringBytes`. */
function writeString(bytes: Uint8Array, view: DataView, at: number, text: string): number {
  const start = at + 4;
  let written = 0;
  if (text.length <= SHORT_STRING_UNITS) {
    // Short ASCII strings (most names and metadata) are cheaper to copy unit by unit than to
    // hand to the encoder; the first non-ASCII unit falls through to the encoder.
    for (; written < text.length; written++) {
      const unit = text.charCodeAt(written);
      if (unit >= 0x80) break;
      bytes[start + written] = unit;
    }
  }
  if (written !== text.length) {
    written = utf8Encoder.encodeInto(text, bytes.subarray(start)).written;
  }
  view.setUint32(at, written, true);
  return start + written;
}

function writeEntry(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  entry: Entry,
  owner: number,
  cache: EncodeCache | undefined,
): number {
  at = writeInt64(view, at, entry.sequence);
  at = writeInt64(view, at, entry.timestamp);
  at = writeUuid(bytes, at, entry.trx.id, owner, "trx.id", cache?.trxId);
  at = writeUuid(bytes, at, entry.trx.node, owner, "trx.node", cache?.trxNode);
  at = writeInt64(view, at, entry.trx.number);
  const payload = entry.payload;
  view.setUint32(at, payload.length, true);
  bytes.set(payload, at + 4);
  at += 4 + payload.length;
  const metadata = entry.metadata;
  const keys = metadata === undefined ? [] : Object.keys(metadata);
  view.setUint32(at, keys.length, true);
  at += 4;
  for (const key of keys) {
    at = writeString(bytes, view, at, key);
    at = writeString(bytes, view, at, metadata[key]);
  }
  at = writeString(bytes, view, at, entry.space);
  return writeString(bytes, view, at, entry.segment);
}

/**
 * Checks and encodes an entry into `allocate(size)`, remembering repeated fields in `cache`
 * when one is given.
 */
export function encodeEntryInto(
  entry: Entry,
  allocate: (size: number) => Uint8Array,
  cache?: EncodeCache,
): Uint8Array {
  const bytes = allocate(measureEntry(entry, cache));
  writeMeasuredEntry(
    bytes,
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    entry,
    cache,
  );
  return bytes;
}

/** The encoded size of an entry, after checking every field. */
export function measureEntry(entry: Entry, cache?: EncodeCache): number {
  return entryBytes(entry, LONE_ENTRY, cache);
}

/** Writes an entry that {@linkcode measureEntry} checked at `bytes[0]`. */
export function writeMeasuredEntry(
  bytes: Uint8Array,
  view: DataView,
  entry: Entry,
  cache?: EncodeCache,
): void {
  writeEntry(bytes, view, 0, entry, LONE_ENTRY, cache);
}

/**
 * Checks and encodes a transaction into `allocate(size)`, remembering repeated fields in
 * `cache` when one is given.
 */
export function encodeTransactionInto(
  txn: TransactionRecord,
  allocate: (size: number) => Uint8Array,
  cache?: EncodeCache,
): Uint8Array {
  if (typeof txn !== "object" || txn === null) throw invalid("transaction", "must be an object");
  const trx = txn.trx;
  if (typeof trx !== "object" || trx === null) {
    throw invalid("transaction.trx", "must be an object");
  }
  requireU64(trx.number, TRANSACTION_HEADER, "trx.number");
  requireU64(txn.firstSequence, TRANSACTION_HEADER, "firstSequence");
  requireU64(txn.lastSequence, TRANSACTION_HEADER, "lastSequence");
  requireI64(txn.timestamp, TRANSACTION_HEADER, "timestamp");
  const entries = txn.entries;
  if (!Array.isArray(entries)) throw invalid("transaction.entries", "must be an array");
  if (entries.length > MAX_U32) {
    throw invalid("transaction.entries", `must hold at most ${MAX_U32} entries`);
  }
  let size = TRANSACTION_FIXED_BYTES +
    stringBytes(txn.space, TRANSACTION_HEADER, "space") +
    stringBytes(txn.segment, TRANSACTION_HEADER, "segment");
  const entrySizes = new Array<number>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entrySize = entryBytes(entries[i], i, cache);
    if (entrySize > MAX_U32) {
      throw invalid(`transaction.entries[${i}]`, `encodes to more than ${MAX_U32} bytes`);
    }
    entrySizes[i] = entrySize;
    size += ENTRY_LENGTH_BYTES + entrySize;
  }

  const bytes = allocate(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = writeUuid(bytes, 0, trx.id, TRANSACTION_HEADER, "trx.id", cache?.trxId);
  at = writeUuid(bytes, at, trx.node, TRANSACTION_HEADER, "trx.node", cache?.trxNode);
  at = writeInt64(view, at, trx.number);
  at = writeString(bytes, view, at, txn.space);
  at = writeString(bytes, view, at, txn.segment);
  at = writeInt64(view, at, txn.firstSequence);
  at = writeInt64(view, at, txn.lastSequence);
  at = writeInt64(view, at, txn.timestamp);
  view.setUint32(at, entries.length, true);
  at += 4;
  for (let i = 0; i < entries.length; i++) {
    view.setUint32(at, entrySizes[i], true);
    at = writeEntry(bytes, view, at + ENTRY_LENGTH_BYTES, entries[i], i, cache);
  }
  return bytes;
}
