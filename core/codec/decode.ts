/**
 * Decoding entries and transactions encoded by `encode.ts`. Decoding never trusts the input:
 * every length and count is checked against the bytes that remain before anything is
 * allocated, strings must be valid UTF-8, and trailing bytes are refused; whatever does not
 * decode fails with `kind: "CorruptData"`, never with a crash, a hang or a huge allocation.
 *
 * @module
 */

import type { TransactionRecord } from "./transaction_record.ts";
import type { Entry } from "../types.ts";
import { readEntry, readerOf, readTransaction } from "./_byte_reader.ts";
import { DecodeCache, readEntryFast } from "./_fast_entry_reader.ts";

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
  return decodeWith(bytes, undefined);
}

function decodeWith(bytes: Uint8Array, cache: DecodeCache | undefined): Entry {
  if (bytes instanceof Uint8Array) {
    const entry = readEntryFast(bytes, cache);
    if (entry !== undefined) return entry;
  }
  const reader = readerOf("decodeEntry", bytes);
  const entry = readEntry(reader);
  reader.expectEnd();
  return entry;
}

/**
 * Decodes entries like {@linkcode decodeEntry}, with the same checks and results, faster for
 * long runs of entries that share their trx, space and segment (a scan of a segment or a
 * space): it remembers the last of each of those strings with its bytes, so equal bytes give
 * the same string back without decoding them again. One decoder per scan; it holds no entry.
 *
 * @example
 * ```ts
 * import { EntryDecoder } from "@streamkit/core/driver";
 * declare const values: Uint8Array[]; // encodeEntry results, e.g. from a key-value scan
 * const decoder = new EntryDecoder();
 * for (const value of values) console.log(decoder.decode(value).sequence);
 * ```
 */
export class EntryDecoder {
  #cache = new DecodeCache();

  /**
   * The entry encoded in `bytes`; anything that is not exactly one valid encoding fails with
   * `kind: "CorruptData"`. The payload is a view into `bytes` (no copy).
   */
  decode(bytes: Uint8Array): Entry {
    return decodeWith(bytes, this.#cache);
  }
}

/**
 * Decodes a transaction encoded by {@linkcode encodeTransaction}. Anything that is not exactly
 * one valid encoding fails with `kind: "CorruptData"`. Payloads are plain `Uint8Array` views
 * into `bytes` (no copy). The decoder checks the format only, not that the entries agree with
 * the header.
 *
 * @example
 * ```ts
 * import {
 *   decodeTransaction,
 *   encodeTransaction,
 *   type TransactionRecord,
 * } from "@streamkit/core/driver";
 * declare const txn: TransactionRecord;
 * console.log(decodeTransaction(encodeTransaction(txn)).entries.length === txn.entries.length);
 * ```
 */
export function decodeTransaction(bytes: Uint8Array): TransactionRecord {
  return readTransaction(bytes);
}
