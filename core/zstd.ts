/**
 * `@streamkit/core/zstd`: the compressed forms of entries and transactions, the codec's
 * encodings wrapped in one standard zstd frame. They run on the native `zstd-napi` addon, so
 * they live apart from the main entry, which stays pure TypeScript: only code that imports this
 * entry needs the addon (and, on Deno, `--allow-ffi`).
 *
 * @example
 * ```ts
 * import { compressEntry, decompressEntry } from "@streamkit/core/zstd";
 * const entry = {
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
 * };
 * console.log(decompressEntry(compressEntry(entry)).sequence); // 1
 * ```
 *
 * @module
 */

import { decodeEntry, decodeTransaction } from "./codec/decode.ts";
import type { TransactionRecord } from "./codec/transaction_record.ts";
import type { Entry } from "./types.ts";
import { allocateBytes } from "./codec/_byte_pool.ts";
import { EncodeCache, encodeEntryInto, encodeTransactionInto } from "./codec/_entry_writer.ts";
import { ZstdContext } from "./codec/_zstd.ts";

/**
 * The default bound on the decompressed size of one entry or transaction: 64 MiB of payloads
 * plus 8 MiB for the fixed fields, names and metadata of up to 10,000 entries. A frame that
 * declares or produces more fails with `kind: "CorruptData"` before the memory is taken.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "@streamkit/core/zstd";
 * console.log(DEFAULT_MAX_DECOMPRESSED_BYTES / 1024 / 1024); // 72
 * ```
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES: number = 72 * 1024 * 1024;

/**
 * Options of {@linkcode decompressEntry} and {@linkcode decompressTransaction}.
 *
 * @example
 * ```ts
 * import type { DecompressOptions } from "@streamkit/core/zstd";
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

/** Encoded bytes up to this size go to the reused scratch buffer; larger ones are allocated. */
const MAX_KEPT_SCRATCH_BYTES = 1024 * 1024;

/**
 * What the compressed forms reuse between calls: the zstd contexts, a scratch buffer for the
 * uncompressed encoding (it only lives until it is compressed), and the encoder's cache.
 */
class FrameCodec {
  readonly zstd = new ZstdContext();
  #scratch = new Uint8Array(4096);
  #scratchBusy = false;
  #cache = new EncodeCache();

  compress<T>(
    value: T,
    encodeInto: (
      value: T,
      allocate: (size: number) => Uint8Array,
      cache: EncodeCache,
    ) => Uint8Array,
  ): Uint8Array {
    // Reading the value can run caller code (getters) that compresses too: it gets its own bytes.
    if (this.#scratchBusy) {
      return this.zstd.compress(encodeInto(value, allocateBytes, new EncodeCache()));
    }
    this.#scratchBusy = true;
    try {
      return this.zstd.compress(encodeInto(value, this.#scratchBytes, this.#cache));
    } finally {
      this.#scratchBusy = false;
    }
  }

  #scratchBytes = (size: number): Uint8Array => {
    if (size > MAX_KEPT_SCRATCH_BYTES) return new Uint8Array(size);
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(size);
    return this.#scratch.subarray(0, size);
  };
}

// One per process, as the contexts are meant to be reused; calls are synchronous.
const frames = new FrameCodec();

function decompressedBound(options: DecompressOptions | undefined): number {
  return options?.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
}

/**
 * {@linkcode encodeEntry} wrapped in one standard zstd frame (content size and checksum
 * included). Like {@linkcode encodeEntry}, a small result is a view into a shared slab.
 *
 * @example
 * ```ts
 * import { compressEntry, type Entry } from "@streamkit/core/zstd";
 * declare const entry: Entry;
 * const frame = compressEntry(entry);
 * console.log(frame[0] === 0x28 && frame[3] === 0xfd); // true: the zstd magic number
 * ```
 */
export function compressEntry(entry: Entry): Uint8Array {
  return frames.compress(entry, encodeEntryInto);
}

/**
 * Decompresses and decodes an entry written by {@linkcode compressEntry} (or by any zstd
 * encoder from the same bytes). A frame that is damaged, holds anything but one entry, or
 * declares or produces more than the bound fails with `kind: "CorruptData"`. The payload is a
 * view into freshly decompressed memory.
 *
 * @example
 * ```ts
 * import { compressEntry, decompressEntry, type Entry } from "@streamkit/core/zstd";
 * declare const entry: Entry;
 * const copy = decompressEntry(compressEntry(entry), { maxDecompressedBytes: 32 * 1024 * 1024 });
 * console.log(copy.payload.length === entry.payload.length); // true
 * ```
 */
export function decompressEntry(bytes: Uint8Array, options?: DecompressOptions): Entry {
  return decodeEntry(frames.zstd.decompress(bytes, decompressedBound(options)));
}

/**
 * {@linkcode encodeTransaction} wrapped in one standard zstd frame (content size and checksum
 * included). Like {@linkcode encodeEntry}, a small result is a view into a shared slab.
 *
 * @example
 * ```ts
 * import { compressTransaction, type TransactionRecord } from "@streamkit/core/zstd";
 * declare const txn: TransactionRecord;
 * const pendingMarker: Uint8Array = compressTransaction(txn);
 * ```
 */
export function compressTransaction(txn: TransactionRecord): Uint8Array {
  return frames.compress(txn, encodeTransactionInto);
}

/**
 * Decompresses and decodes a transaction written by {@linkcode compressTransaction}, with the
 * same checks as {@linkcode decompressEntry}.
 *
 * @example
 * ```ts
 * import { compressTransaction, decompressTransaction, type TransactionRecord } from "@streamkit/core/zstd";
 * declare const txn: TransactionRecord;
 * console.log(decompressTransaction(compressTransaction(txn)).lastSequence === txn.lastSequence);
 * ```
 */
export function decompressTransaction(
  bytes: Uint8Array,
  options?: DecompressOptions,
): TransactionRecord {
  return decodeTransaction(frames.zstd.decompress(bytes, decompressedBound(options)));
}
