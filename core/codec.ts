/**
 * The binary encodings of entries and transactions, byte-compatible with the Go streamkit:
 * little-endian fixed-width integers, u32 lengths and counts, UUIDs as 16 raw bytes, strings
 * as UTF-8. The compressed forms wrap those bytes in one standard zstd frame.
 *
 * Entry: sequence u64, timestamp i64, trx id, trx node, trx number u64, payload (u32 length +
 * bytes), metadata count u32 then (u32 length + key, u32 length + value) pairs, space (u32
 * length + UTF-8), segment (u32 length + UTF-8).
 *
 * Transaction: trx id, trx node, trx number u64, space, segment, firstSequence u64,
 * lastSequence u64, timestamp i64, entry count u32, then each entry as u32 length + entry.
 *
 * Decoding never trusts the input: every length and count is checked against the bytes that
 * remain before anything is allocated, strings must be valid UTF-8, and trailing bytes are
 * refused; whatever does not decode fails with `kind: "CorruptData"`.
 *
 * @module
 */

import { allocateBytes } from "./_byte_pool.ts";
import { compress, decompress } from "./_zstd.ts";
import { StreamkitError } from "./errors.ts";
import type { Transaction } from "./txn.ts";
import type { Entry } from "./types.ts";

/**
 * The default bound on the decompressed size of one entry or transaction: 64 MiB of payloads
 * plus 8 MiB for the fixed fields, names and metadata of up to 10,000 entries. A frame that
 * declares or produces more fails with `kind: "CorruptData"` before the memory is taken.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "@streamkit/core";
 * console.log(DEFAULT_MAX_DECOMPRESSED_BYTES / 1024 / 1024); // 72
 * ```
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES: number = 72 * 1024 * 1024;

/**
 * Options of {@linkcode decompressEntry} and {@linkcode decompressTransaction}.
 *
 * @example
 * ```ts
 * import type { DecompressOptions } from "@streamkit/core";
 * const options: DecompressOptions = { maxDecompressedBytes: 1024 * 1024 };
 * ```
 */
export interface DecompressOptions {
  /**
   * The most bytes the frame may decompress to; more is `CorruptData`. Defaults to
   * {@linkcode DEFAULT_MAX_DECOMPRESSED_BYTES}.
   */
  maxDecompressedBytes?: number;
}

// sequence 8, timestamp 8, trx id 16, trx node 16, trx number 8, and the four u32 prefixes
// of payload, metadata, space and segment.
const ENTRY_FIXED_BYTES = 72;
// trx id 16, trx node 16, trx number 8, space and segment prefixes 4 + 4, firstSequence 8,
// lastSequence 8, timestamp 8, entry count 4.
const TRANSACTION_FIXED_BYTES = 76;
const ENTRY_LENGTH_BYTES = 4;
const METADATA_PAIR_PREFIX_BYTES = 8;
const MAX_U32 = 0xffffffff;
const TWO_POW_32 = 4294967296;
// Beyond this many UTF-16 units, TextEncoder.encodeInto beats a JavaScript byte loop.
const SHORT_STRING_UNITS = 32;
const DASH = 0x2d;

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is content.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUES["0123456789abcdef".charCodeAt(digit)] = digit;
  HEX_VALUES["0123456789ABCDEF".charCodeAt(digit)] = digit;
}
const HEX_PAIRS: string[] = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);

// --- encoding -------------------------------------------------------------------------------

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

// Consecutive entries mostly share their space and segment: measure each name once.
const lastSpaceMeasured: MeasuredName = { text: NOTHING_YET, length: 0 };
const lastSegmentMeasured: MeasuredName = { text: NOTHING_YET, length: 0 };

/** {@linkcode stringBytes} of a name, remembering the last one measured for `field`. */
function nameBytes(text: unknown, owner: number, field: string, last: MeasuredName): number {
  if (text === last.text) return last.length;
  const length = stringBytes(text, owner, field);
  last.text = text as string;
  last.length = length;
  return length;
}

/** Checks an entry and returns its encoded size. */
function entryBytes(entry: Entry, owner: number): number {
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
  size += nameBytes(entry.space, owner, "space", lastSpaceMeasured);
  size += nameBytes(entry.segment, owner, "segment", lastSegmentMeasured);
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

function writeU64(view: DataView, at: number, value: number): number {
  // ToUint32 (`>>> 0`) keeps the low 32 bits of any integer, two's complement for negatives.
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / TWO_POW_32), true);
  return at + 8;
}

function writeI64(view: DataView, at: number, value: number): number {
  view.setUint32(at, value >>> 0, true);
  view.setInt32(at + 4, Math.floor(value / TWO_POW_32), true);
  return at + 8;
}

function invalidUuid(owner: number, field: string, text: unknown): StreamkitError {
  return invalid(
    fieldPath(owner, field),
    `must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(text)}`,
  );
}

function hexValue(unit: number): number {
  return unit < 128 ? HEX_VALUES[unit] : -1;
}

/** The last UUID text a field was written from, and its 16 bytes. */
interface ParsedUuid {
  text: string | typeof NOTHING_YET;
  bytes: Uint8Array;
}

// Every entry of a chunk carries the same trx id and node: parse each text once, then copy.
const lastTrxIdParsed: ParsedUuid = { text: NOTHING_YET, bytes: new Uint8Array(16) };
const lastTrxNodeParsed: ParsedUuid = { text: NOTHING_YET, bytes: new Uint8Array(16) };

function writeUuid(
  bytes: Uint8Array,
  at: number,
  text: unknown,
  owner: number,
  field: string,
  last: ParsedUuid,
): number {
  if (text === last.text) {
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
  last.bytes.set(bytes.subarray(at, at + 16));
  last.text = text;
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
): number {
  at = writeU64(view, at, entry.sequence);
  at = writeI64(view, at, entry.timestamp);
  at = writeUuid(bytes, at, entry.trx.id, owner, "trx.id", lastTrxIdParsed);
  at = writeUuid(bytes, at, entry.trx.node, owner, "trx.node", lastTrxNodeParsed);
  at = writeU64(view, at, entry.trx.number);
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
 * Encodes an entry (layout in the module documentation). Sequences and trx numbers must be
 * non-negative safe integers, the timestamp a safe integer, trx id and node UUIDs (any case),
 * strings well-formed Unicode; anything else fails with `kind: "InvalidArgument"` naming the
 * field.
 *
 * The result is a plain `Uint8Array`; up to 4 KiB it is a view into a shared 64 KiB slab, as
 * with Node's `Buffer` pool (allocating a buffer per entry would cost more than encoding it).
 * Use its `byteOffset` and `byteLength` with its `buffer`, or `slice()` it for a buffer of its
 * own.
 *
 * @example
 * ```ts
 * import { encodeEntry, toHex } from "@streamkit/core";
 * const bytes = encodeEntry({
 *   space: "orders",
 *   segment: "order-1",
 *   sequence: 1,
 *   timestamp: 1700000000000,
 *   trx: {
 *     id: "550e8400-e29b-41d4-a716-446655440000",
 *     node: "00000000-0000-0000-0000-000000000000",
 *     number: 1,
 *   },
 *   payload: new TextEncoder().encode("hello"),
 *   metadata: {},
 * });
 * console.log(toHex(bytes.subarray(0, 8))); // "0100000000000000"
 * ```
 */
export function encodeEntry(entry: Entry): Uint8Array {
  return encodeEntryInto(entry, allocateBytes);
}

function encodeEntryInto(entry: Entry, allocate: (size: number) => Uint8Array): Uint8Array {
  const bytes = allocate(entryBytes(entry, LONE_ENTRY));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  writeEntry(bytes, view, 0, entry, LONE_ENTRY);
  return bytes;
}

/** Encodings up to this size reuse the encoder's buffer; larger ones get a buffer of their own. */
const MAX_REUSED_ENCODING_BYTES = 1024 * 1024;

/**
 * Encodes entries like {@linkcode encodeEntry}, with the same checks and bytes, into one buffer
 * it reuses: nothing is allocated per entry, so writing a long run of entries (a chunk into a
 * write batch that copies them) costs no garbage. The result is only valid until the next call
 * of `encode` on the same encoder: copy it (`slice()`) to keep it.
 *
 * @example
 * ```ts
 * import { encodeEntry, EntryEncoder, type Entry } from "@streamkit/core";
 * declare const entries: Entry[];
 * declare function write(bytes: Uint8Array): void; // copies the bytes
 * const encoder = new EntryEncoder();
 * for (const entry of entries) write(encoder.encode(entry));
 * const first = encoder.encode(entries[0]).slice(); // kept: a copy
 * console.log(first.length === encodeEntry(entries[0]).length); // true
 * ```
 */
export class EntryEncoder {
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #result = this.#bytes;

  /**
   * The encoding of `entry`, in this encoder's buffer until the next call. Invalid entries fail
   * with `kind: "InvalidArgument"` naming the field, as {@linkcode encodeEntry} does.
   */
  encode(entry: Entry): Uint8Array {
    const size = entryBytes(entry, LONE_ENTRY);
    if (size > MAX_REUSED_ENCODING_BYTES) return encodeEntryInto(entry, allocateBytes);
    if (this.#bytes.length < size) {
      this.#bytes = new Uint8Array(Math.max(size, 2 * this.#bytes.length, 4096));
      this.#view = new DataView(this.#bytes.buffer);
    }
    writeEntry(this.#bytes, this.#view, 0, entry, LONE_ENTRY);
    // Runs of entries of one size (common) get the same view back: no allocation at all.
    if (this.#result.length !== size || this.#result.buffer !== this.#bytes.buffer) {
      this.#result = this.#bytes.subarray(0, size);
    }
    return this.#result;
  }
}

/**
 * Encodes a transaction (layout in the module documentation) with the same rules as
 * {@linkcode encodeEntry} for its header and each of its entries, and the same kind of result.
 *
 * @example
 * ```ts
 * import { encodeTransaction, type Transaction } from "@streamkit/core";
 * const trx = {
 *   id: "550e8400-e29b-41d4-a716-446655440000",
 *   node: "00000000-0000-0000-0000-000000000000",
 *   number: 1,
 * };
 * const txn: Transaction = {
 *   trx,
 *   space: "orders",
 *   segment: "order-1",
 *   firstSequence: 1,
 *   lastSequence: 1,
 *   timestamp: 1700000000000,
 *   entries: [{
 *     space: "orders",
 *     segment: "order-1",
 *     sequence: 1,
 *     timestamp: 1700000000000,
 *     trx,
 *     payload: new Uint8Array([1, 2, 3]),
 *     metadata: {},
 *   }],
 * };
 * console.log(encodeTransaction(txn).length); // 181
 * ```
 */
export function encodeTransaction(txn: Transaction): Uint8Array {
  return encodeTransactionInto(txn, allocateBytes);
}

function encodeTransactionInto(
  txn: Transaction,
  allocate: (size: number) => Uint8Array,
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
    const entrySize = entryBytes(entries[i], i);
    if (entrySize > MAX_U32) {
      throw invalid(`transaction.entries[${i}]`, `encodes to more than ${MAX_U32} bytes`);
    }
    entrySizes[i] = entrySize;
    size += ENTRY_LENGTH_BYTES + entrySize;
  }

  const bytes = allocate(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = writeUuid(bytes, 0, trx.id, TRANSACTION_HEADER, "trx.id", lastTrxIdParsed);
  at = writeUuid(bytes, at, trx.node, TRANSACTION_HEADER, "trx.node", lastTrxNodeParsed);
  at = writeU64(view, at, trx.number);
  at = writeString(bytes, view, at, txn.space);
  at = writeString(bytes, view, at, txn.segment);
  at = writeU64(view, at, txn.firstSequence);
  at = writeU64(view, at, txn.lastSequence);
  at = writeI64(view, at, txn.timestamp);
  view.setUint32(at, entries.length, true);
  at += 4;
  for (let i = 0; i < entries.length; i++) {
    view.setUint32(at, entrySizes[i], true);
    at = writeEntry(bytes, view, at + ENTRY_LENGTH_BYTES, entries[i], i);
  }
  return bytes;
}

// --- decoding -------------------------------------------------------------------------------

function corrupt(message: string, cause?: unknown): StreamkitError {
  return new StreamkitError("CorruptData", message, { cause });
}

/** A bounds-checked cursor over `bytes[at, end)`; every read fails as CorruptData. */
class ByteReader {
  constructor(
    readonly what: string,
    readonly bytes: Uint8Array,
    readonly view: DataView,
    public at: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.at;
  }

  need(count: number, field: string): void {
    if (count > this.end - this.at) {
      throw corrupt(
        `${this.what}: truncated at ${field}: needs ${count} bytes, ${this.end - this.at} remain`,
      );
    }
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  u64(field: string): number {
    this.need(8, field);
    const low = this.view.getUint32(this.at, true);
    const high = this.view.getUint32(this.at + 4, true);
    this.at += 8;
    if (high > 0x1fffff) throw corrupt(`${this.what}: ${field} is above 2^53-1`);
    return high * TWO_POW_32 + low;
  }

  i64(field: string): number {
    this.need(8, field);
    const low = this.view.getUint32(this.at, true);
    const high = this.view.getInt32(this.at + 4, true);
    this.at += 8;
    // Exact while the result is safe; anything beyond rounds to a value that is not.
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw corrupt(`${this.what}: ${field} is outside -(2^53-1)..2^53-1`);
    }
    return value;
  }

  uuid(field: string): string {
    this.need(16, field);
    const b = this.bytes;
    const at = this.at;
    this.at += 16;
    return HEX_PAIRS[b[at]] + HEX_PAIRS[b[at + 1]] + HEX_PAIRS[b[at + 2]] + HEX_PAIRS[b[at + 3]] +
      "-" + HEX_PAIRS[b[at + 4]] + HEX_PAIRS[b[at + 5]] +
      "-" + HEX_PAIRS[b[at + 6]] + HEX_PAIRS[b[at + 7]] +
      "-" + HEX_PAIRS[b[at + 8]] + HEX_PAIRS[b[at + 9]] +
      "-" + HEX_PAIRS[b[at + 10]] + HEX_PAIRS[b[at + 11]] + HEX_PAIRS[b[at + 12]] +
      HEX_PAIRS[b[at + 13]] + HEX_PAIRS[b[at + 14]] + HEX_PAIRS[b[at + 15]];
  }

  /** A u32 length and that many bytes, as a plain `Uint8Array` view (no copy). */
  lengthPrefixedBytes(field: string): Uint8Array {
    const length = this.u32(field);
    this.need(length, field);
    const view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.at, length);
    this.at += length;
    return view;
  }

  string(field: string): string {
    const length = this.u32(field);
    this.need(length, field);
    const start = this.at;
    this.at += length;
    if (length <= SHORT_STRING_UNITS) {
      // Short ASCII is cheaper to build unit by unit than through the decoder.
      let text = "";
      for (let i = start; i < start + length; i++) {
        const byte = this.bytes[i];
        if (byte >= 0x80) return this.decodeUtf8(start, length, field);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return this.decodeUtf8(start, length, field);
  }

  private decodeUtf8(start: number, length: number, field: string): string {
    try {
      return utf8Decoder.decode(this.bytes.subarray(start, start + length));
    } catch (error) {
      throw corrupt(`${this.what}: ${field} is not valid UTF-8`, error);
    }
  }

  expectEnd(): void {
    if (this.at !== this.end) {
      throw corrupt(`${this.what}: ${this.end - this.at} unexpected bytes after the end`);
    }
  }
}

function readerOf(what: string, bytes: unknown): ByteReader {
  if (!(bytes instanceof Uint8Array)) throw corrupt(`${what}: expected a Uint8Array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new ByteReader(what, bytes, view, 0, bytes.length);
}

function readEntry(reader: ByteReader): Entry {
  const sequence = reader.u64("sequence");
  const timestamp = reader.i64("timestamp");
  const id = reader.uuid("trx.id");
  const node = reader.uuid("trx.node");
  const number = reader.u64("trx.number");
  const payload = reader.lengthPrefixedBytes("payload");
  const count = reader.u32("metadata count");
  if (count > reader.remaining / METADATA_PAIR_PREFIX_BYTES) {
    throw corrupt(`${reader.what}: metadata count ${count} exceeds the remaining bytes`);
  }
  const metadata: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = reader.string("metadata key");
    const value = reader.string("metadata value");
    if (Object.hasOwn(metadata, key)) {
      throw corrupt(`${reader.what}: duplicate metadata key ${JSON.stringify(key)}`);
    }
    if (key === "__proto__") {
      // Plain assignment would set the prototype; define it as the own property it is.
      Object.defineProperty(metadata, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      metadata[key] = value;
    }
  }
  const space = reader.string("space");
  const segment = reader.string("segment");
  return { space, segment, sequence, timestamp, trx: { id, node, number }, payload, metadata };
}

// --- fast entry decoding ---------------------------------------------------------------------
//
// Consumers decode long runs of entries whose trx id, trx node, space and segment repeat (every
// entry of a chunk shares them). The fast path below reads the layout with plain byte
// arithmetic (no DataView or reader object per entry) and keeps the last string decoded for
// each of those four fields with its bytes: equal bytes give the same string back, built once.
// Strings are immutable, so sharing them between entries is invisible. Whatever the fast path
// does not accept (any bound or range violation, bad UTF-8, a duplicate or `__proto__` metadata
// key) it hands to the checked reader above, which produces the exact error.

/** The last string decoded for a field, and its bytes. */
interface DecodedText {
  bytes: Uint8Array;
  length: number;
  text: string;
}

function decodedText(): DecodedText {
  return { bytes: new Uint8Array(64), length: -1, text: "" };
}

const lastTrxId = decodedText();
const lastTrxNode = decodedText();
const lastSpace = decodedText();
const lastSegment = decodedText();

function u32At(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

function sameBytes(b: Uint8Array, at: number, length: number, last: DecodedText): boolean {
  if (length !== last.length) return false;
  const cached = last.bytes;
  for (let i = 0; i < length; i++) {
    if (b[at + i] !== cached[i]) return false;
  }
  return true;
}

/** Longer strings are not remembered (names are at most 200 bytes): the cache stays small. */
const MAX_REMEMBERED_BYTES = 256;

function remember(b: Uint8Array, at: number, length: number, text: string, last: DecodedText) {
  if (length > MAX_REMEMBERED_BYTES) return;
  if (last.bytes.length < length) last.bytes = new Uint8Array(length);
  last.bytes.set(b.subarray(at, at + length));
  last.length = length;
  last.text = text;
}

function uuidAt(b: Uint8Array, at: number, last: DecodedText): string {
  if (sameBytes(b, at, 16, last)) return last.text;
  const text = HEX_PAIRS[b[at]] + HEX_PAIRS[b[at + 1]] + HEX_PAIRS[b[at + 2]] +
    HEX_PAIRS[b[at + 3]] + "-" + HEX_PAIRS[b[at + 4]] + HEX_PAIRS[b[at + 5]] + "-" +
    HEX_PAIRS[b[at + 6]] + HEX_PAIRS[b[at + 7]] + "-" + HEX_PAIRS[b[at + 8]] +
    HEX_PAIRS[b[at + 9]] + "-" + HEX_PAIRS[b[at + 10]] + HEX_PAIRS[b[at + 11]] +
    HEX_PAIRS[b[at + 12]] + HEX_PAIRS[b[at + 13]] + HEX_PAIRS[b[at + 14]] + HEX_PAIRS[b[at + 15]];
  remember(b, at, 16, text, last);
  return text;
}

/** UTF-8 at `b[at, at + length)`, or `undefined` when it is not valid UTF-8. */
function textAt(b: Uint8Array, at: number, length: number): string | undefined {
  if (length <= SHORT_STRING_UNITS) {
    let text = "";
    for (let i = at; i < at + length; i++) {
      const byte = b[i];
      if (byte >= 0x80) return utf8OrUndefined(b, at, length);
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return utf8OrUndefined(b, at, length);
}

function utf8OrUndefined(b: Uint8Array, at: number, length: number): string | undefined {
  try {
    return utf8Decoder.decode(b.subarray(at, at + length));
  } catch {
    return undefined;
  }
}

function cachedTextAt(
  b: Uint8Array,
  at: number,
  length: number,
  last: DecodedText,
): string | undefined {
  if (sameBytes(b, at, length, last)) return last.text;
  const text = textAt(b, at, length);
  if (text !== undefined) remember(b, at, length, text, last);
  return text;
}

/** The entry in `b`, or `undefined` when anything is off (the checked path then reports it). */
function decodeEntryFast(b: Uint8Array): Entry | undefined {
  const end = b.length;
  if (end < ENTRY_FIXED_BYTES) return undefined;
  const sequenceHigh = u32At(b, 4);
  const numberHigh = u32At(b, 52);
  if (sequenceHigh > 0x1fffff || numberHigh > 0x1fffff) return undefined;
  const sequence = sequenceHigh * TWO_POW_32 + u32At(b, 0);
  const timestamp = (b[12] | (b[13] << 8) | (b[14] << 16) | (b[15] << 24)) * TWO_POW_32 +
    u32At(b, 8);
  if (!Number.isSafeInteger(timestamp)) return undefined;
  const number = numberHigh * TWO_POW_32 + u32At(b, 48);
  const payloadLength = u32At(b, 56);
  let at = 60;
  // What must follow the payload: metadata count, space and segment lengths.
  if (payloadLength > end - at - 12) return undefined;
  const payload = new Uint8Array(b.buffer, b.byteOffset + at, payloadLength);
  at += payloadLength;
  const count = u32At(b, at);
  at += 4;
  const metadata: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    if (end - at < 4) return undefined;
    const keyLength = u32At(b, at);
    at += 4;
    if (keyLength > end - at - 4) return undefined;
    const key = textAt(b, at, keyLength);
    at += keyLength;
    const valueLength = u32At(b, at);
    at += 4;
    if (valueLength > end - at) return undefined;
    const value = textAt(b, at, valueLength);
    at += valueLength;
    if (key === undefined || value === undefined || key === "__proto__") return undefined;
    if (Object.hasOwn(metadata, key)) return undefined;
    metadata[key] = value;
  }
  if (end - at < 8) return undefined;
  const spaceLength = u32At(b, at);
  at += 4;
  if (spaceLength > end - at - 4) return undefined;
  const space = cachedTextAt(b, at, spaceLength, lastSpace);
  at += spaceLength;
  const segmentLength = u32At(b, at);
  at += 4;
  if (segmentLength !== end - at) return undefined;
  const segment = cachedTextAt(b, at, segmentLength, lastSegment);
  if (space === undefined || segment === undefined) return undefined;
  const id = uuidAt(b, 16, lastTrxId);
  const node = uuidAt(b, 32, lastTrxNode);
  return { space, segment, sequence, timestamp, trx: { id, node, number }, payload, metadata };
}

/**
 * Decodes an entry encoded by {@linkcode encodeEntry}. Anything that is not exactly one valid
 * encoding fails with `kind: "CorruptData"`. The payload is a plain `Uint8Array` view into
 * `bytes` (no copy): copy it if `bytes` will be reused. Trx ids come back lower-case.
 *
 * @example
 * ```ts
 * import { decodeEntry, encodeEntry, type Entry } from "@streamkit/core";
 * declare const entry: Entry;
 * const copy = decodeEntry(encodeEntry(entry));
 * console.log(copy.sequence === entry.sequence); // true
 * ```
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes instanceof Uint8Array) {
    const entry = decodeEntryFast(bytes);
    if (entry !== undefined) return entry;
  }
  const reader = readerOf("decodeEntry", bytes);
  const entry = readEntry(reader);
  reader.expectEnd();
  return entry;
}

/**
 * Decodes a transaction encoded by {@linkcode encodeTransaction}. Anything that is not exactly
 * one valid encoding fails with `kind: "CorruptData"`. Payloads are plain `Uint8Array` views
 * into `bytes` (no copy). The decoder checks the format only, not that the entries agree with
 * the header.
 *
 * @example
 * ```ts
 * import { decodeTransaction, encodeTransaction, type Transaction } from "@streamkit/core";
 * declare const txn: Transaction;
 * console.log(decodeTransaction(encodeTransaction(txn)).entries.length === txn.entries.length);
 * ```
 */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  const reader = readerOf("decodeTransaction", bytes);
  const id = reader.uuid("trx.id");
  const node = reader.uuid("trx.node");
  const number = reader.u64("trx.number");
  const space = reader.string("space");
  const segment = reader.string("segment");
  const firstSequence = reader.u64("firstSequence");
  const lastSequence = reader.u64("lastSequence");
  const timestamp = reader.i64("timestamp");
  const count = reader.u32("entry count");
  if (count > reader.remaining / (ENTRY_LENGTH_BYTES + ENTRY_FIXED_BYTES)) {
    throw corrupt(`decodeTransaction: entry count ${count} exceeds the remaining bytes`);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const length = reader.u32("entry length");
    reader.need(length, `entry ${i}`);
    const entryReader = new ByteReader(
      `decodeTransaction: entry ${i}`,
      reader.bytes,
      reader.view,
      reader.at,
      reader.at + length,
    );
    entries.push(readEntry(entryReader));
    entryReader.expectEnd();
    reader.at += length;
  }
  reader.expectEnd();
  return {
    trx: { id, node, number },
    space,
    segment,
    firstSequence,
    lastSequence,
    timestamp,
    entries,
  };
}

// --- compressed forms -----------------------------------------------------------------------

// The uncompressed bytes only live until they are compressed, so they go to one reused
// scratch buffer instead of a fresh allocation per call.
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;
let encodingScratch = new Uint8Array(4096);
let encodingScratchBusy = false;

function scratchBytes(size: number): Uint8Array {
  if (size > MAX_KEPT_SCRATCH_BYTES) return new Uint8Array(size);
  if (encodingScratch.length < size) encodingScratch = new Uint8Array(size);
  return encodingScratch.subarray(0, size);
}

function compressEncoding<T>(
  value: T,
  encodeInto: (value: T, allocate: (size: number) => Uint8Array) => Uint8Array,
): Uint8Array {
  // Reading the value can run caller code (getters) that compresses too: it gets its own bytes.
  if (encodingScratchBusy) return compress(encodeInto(value, allocateBytes));
  encodingScratchBusy = true;
  try {
    return compress(encodeInto(value, scratchBytes));
  } finally {
    encodingScratchBusy = false;
  }
}

function decompressedBound(options: DecompressOptions | undefined): number {
  return options?.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
}

/**
 * {@linkcode encodeEntry} wrapped in one standard zstd frame (content size and checksum
 * included). Like {@linkcode encodeEntry}, a small result is a view into a shared slab.
 *
 * @example
 * ```ts
 * import { compressEntry, type Entry } from "@streamkit/core";
 * declare const entry: Entry;
 * const frame = compressEntry(entry);
 * console.log(frame[0] === 0x28 && frame[3] === 0xfd); // true: the zstd magic number
 * ```
 */
export function compressEntry(entry: Entry): Uint8Array {
  return compressEncoding(entry, encodeEntryInto);
}

/**
 * Decompresses and decodes an entry written by {@linkcode compressEntry} (or by any zstd
 * encoder from the same bytes). A frame that is damaged, holds anything but one entry, or
 * declares or produces more than the bound fails with `kind: "CorruptData"`. The payload is a
 * view into freshly decompressed memory.
 *
 * @example
 * ```ts
 * import { compressEntry, decompressEntry, type Entry } from "@streamkit/core";
 * declare const entry: Entry;
 * const copy = decompressEntry(compressEntry(entry), { maxDecompressedBytes: 32 * 1024 * 1024 });
 * console.log(copy.payload.length === entry.payload.length); // true
 * ```
 */
export function decompressEntry(bytes: Uint8Array, options?: DecompressOptions): Entry {
  return decodeEntry(decompress(bytes, decompressedBound(options)));
}

/**
 * {@linkcode encodeTransaction} wrapped in one standard zstd frame (content size and checksum
 * included). Like {@linkcode encodeEntry}, a small result is a view into a shared slab.
 *
 * @example
 * ```ts
 * import { compressTransaction, type Transaction } from "@streamkit/core";
 * declare const txn: Transaction;
 * const pendingMarker: Uint8Array = compressTransaction(txn);
 * ```
 */
export function compressTransaction(txn: Transaction): Uint8Array {
  return compressEncoding(txn, encodeTransactionInto);
}

/**
 * Decompresses and decodes a transaction written by {@linkcode compressTransaction}, with the
 * same checks as {@linkcode decompressEntry}.
 *
 * @example
 * ```ts
 * import { compressTransaction, decompressTransaction, type Transaction } from "@streamkit/core";
 * declare const txn: Transaction;
 * console.log(decompressTransaction(compressTransaction(txn)).lastSequence === txn.lastSequence);
 * ```
 */
export function decompressTransaction(bytes: Uint8Array, options?: DecompressOptions): Transaction {
  return decodeTransaction(decompress(bytes, decompressedBound(options)));
}
