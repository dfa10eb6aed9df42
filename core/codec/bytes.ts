/**
 * Byte helpers shared by the codec, the key layout and the drivers: 64-bit integers written
 * as two 32-bit halves (exact for every safe integer, no `BigInt`), strict UTF-8 decoding,
 * and concatenation.
 *
 * @module
 */

/** 2^32: the weight of the high half of a 64-bit integer split into two 32-bit words. */
export const TWO_POW_32 = 4294967296;

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is content (a name
// may start with it, and must come back with it).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The bytes of `parts`, one after the other, in a new `Uint8Array`.
 *
 * @example
 * ```ts
 * import { concatBytes } from "@streamkit/core/driver";
 * console.log(concatBytes(new Uint8Array([1]), new Uint8Array([2, 3]))); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/**
 * Decodes UTF-8 strictly: invalid bytes throw a `TypeError` (never U+FFFD), and a leading
 * U+FEFF is kept as content rather than dropped as a byte order mark.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "@streamkit/core/driver";
 * console.log(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])).length); // 2
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return strictUtf8.decode(bytes);
}

/**
 * Writes a safe integer as 8 little-endian bytes (two's complement) at `view[at]`.
 *
 * @example
 * ```ts
 * import { readI64LE, writeI64LE } from "@streamkit/core/driver";
 * const view = new DataView(new ArrayBuffer(8));
 * writeI64LE(view, 0, -2);
 * console.log(readI64LE(view, 0)); // -2
 * ```
 */
export function writeI64LE(view: DataView, at: number, value: number): void {
  // ToUint32 (`>>> 0`) keeps the low 32 bits of any integer, two's complement for negatives.
  view.setUint32(at, value >>> 0, true);
  view.setInt32(at + 4, Math.floor(value / TWO_POW_32), true);
}

/**
 * Reads 8 little-endian bytes (two's complement) at `view[at]` as a number; exact while the
 * value is a safe integer (check with `Number.isSafeInteger` when the bytes are untrusted).
 *
 * @example
 * ```ts
 * import { readI64LE, writeI64LE } from "@streamkit/core/driver";
 * const view = new DataView(new ArrayBuffer(8));
 * writeI64LE(view, 0, 1700000000000);
 * console.log(readI64LE(view, 0)); // 1700000000000
 * ```
 */
export function readI64LE(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * TWO_POW_32 + view.getUint32(at, true);
}

/**
 * Writes a non-negative safe integer as 8 big-endian bytes at `bytes[at]`: a lexkey `u64`
 * part, written in place (a key buffer reused for a run of sequences).
 *
 * @example
 * ```ts
 * import { writeU64BE } from "@streamkit/core/driver";
 * const key = new Uint8Array(8);
 * writeU64BE(key, 0, 258);
 * console.log(key); // Uint8Array(8) [ 0, 0, 0, 0, 0, 0, 1, 2 ]
 * ```
 */
export function writeU64BE(bytes: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  const low = value - high * TWO_POW_32;
  bytes[at] = high >>> 24;
  bytes[at + 1] = (high >>> 16) & 0xff;
  bytes[at + 2] = (high >>> 8) & 0xff;
  bytes[at + 3] = high & 0xff;
  bytes[at + 4] = low >>> 24;
  bytes[at + 5] = (low >>> 16) & 0xff;
  bytes[at + 6] = (low >>> 8) & 0xff;
  bytes[at + 7] = low & 0xff;
}

/**
 * Whether `a` and `b` hold the same bytes.
 *
 * @example
 * ```ts
 * import { equalBytes } from "@streamkit/core/driver";
 * console.log(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))); // true
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
