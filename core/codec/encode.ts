/**
 * Encoding entries and transaction records, byte-compatible with the Go streamkit; the layout
 * is in `FORMAT.md`. Every field is checked before anything is written.
 *
 * @module
 */

import { allocateBytes } from "./_byte_pool.ts";
import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import {
  EncodeCache,
  encodeEntryInto,
  encodeTransactionInto,
  measureEntry,
  writeMeasuredEntry,
} from "./_entry_writer.ts";

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
 * import { encodeEntry, type Entry } from "@streamkit/core";
 * import { EntryEncoder } from "@streamkit/core/driver";
 * declare const entries: Entry[];
 * declare function write(bytes: Uint8Array): void; // copies the bytes
 * const encoder = new EntryEncoder();
 * for (const entry of entries) write(encoder.encode(entry));
 * const first = encoder.encode(entries[0]).slice(); // kept: a copy
 * console.log(first.length === encodeEntry(entries[0]).length); // true
 * ```
 */
export class EntryEncoder {
  #cache = new EncodeCache();
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #result = this.#bytes;

  /**
   * The encoding of `entry`, in this encoder's buffer until the next call. Invalid entries fail
   * with `kind: "InvalidArgument"` naming the field, as {@linkcode encodeEntry} does.
   */
  encode(entry: Entry): Uint8Array {
    const size = measureEntry(entry, this.#cache);
    if (size > MAX_REUSED_ENCODING_BYTES) return encodeEntryInto(entry, allocateBytes, this.#cache);
    if (this.#bytes.length < size) {
      this.#bytes = new Uint8Array(Math.max(size, 2 * this.#bytes.length, 4096));
      this.#view = new DataView(this.#bytes.buffer);
    }
    writeMeasuredEntry(this.#bytes, this.#view, entry, this.#cache);
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
 * import { encodeTransaction, type TransactionRecord } from "@streamkit/core/driver";
 * const trx = {
 *   id: "550e8400-e29b-41d4-a716-446655440000",
 *   node: "00000000-0000-0000-0000-000000000000",
 *   number: 1,
 * };
 * const txn: TransactionRecord = {
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
export function encodeTransaction(txn: TransactionRecord): Uint8Array {
  // Its entries share names and trx: what one encoding remembers serves the whole transaction.
  return encodeTransactionInto(txn, allocateBytes, new EncodeCache());
}
