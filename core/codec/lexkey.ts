/**
 * lexkey: composite keys whose byte order is the order of their parts, byte-compatible with
 * the Go streamkit. Parts are joined by one 0x00 byte.
 *
 * @module
 */

import { StreamkitError } from "../errors.ts";
import { TWO_POW_32 } from "./bytes.ts";
import { HEX_PAIRS, isUuid } from "./_hex.ts";

/**
 * A part of a key that is already encoded: what {@linkcode i64}, {@linkcode u64},
 * {@linkcode f64} and {@linkcode uuid} return.
 *
 * @example
 * ```ts
 * import { i64, type TaggedPart } from "@streamkit/core";
 * const part: TaggedPart = i64(-5);
 * console.log(part.tag, part.bytes.length); // "i64" 8
 * ```
 */
export interface TaggedPart {
  /** Which encoding produced the bytes. */
  readonly tag: "i64" | "u64" | "f64" | "uuid";
  /** The encoded bytes. */
  readonly bytes: Uint8Array;
}

/**
 * The sentinel part that encodes as one 0xFF byte: sorts after every other part.
 *
 * @example
 * ```ts
 * import { END, encodeKey, toHex } from "@streamkit/core";
 * console.log(toHex(encodeKey("a", END))); // "6100ff"
 * ```
 */
export const END: unique symbol = Symbol("lexkey.END");

/**
 * A key part: a string (UTF-8), raw bytes, a boolean (0x00/0x01), `null` (0x00), {@linkcode END}
 * (0xFF), a tagged number or UUID, or a plain integer (encoded as an i64).
 *
 * @example
 * ```ts
 * import { type KeyPart, u64 } from "@streamkit/core";
 * const parts: KeyPart[] = ["DAT", "SEGMENTS", "orders", "order-1", u64(7)];
 * ```
 */
export type KeyPart = string | Uint8Array | boolean | null | typeof END | number | TaggedPart;

const utf8 = new TextEncoder();
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const ZERO = new Uint8Array([0x00]);
const ONE = new Uint8Array([0x01]);
const FF = new Uint8Array([0xff]);

function invalid(message: string): StreamkitError {
  return new StreamkitError("InvalidArgument", message);
}

function writeHiLo(hi: number, lo: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, hi >>> 0);
  view.setUint32(4, lo >>> 0);
  return bytes;
}

/**
 * A signed 64-bit integer part: big-endian with the sign bit flipped, so negative numbers sort
 * first. Numbers must be safe integers; pass a `bigint` for the full range.
 *
 * @example
 * ```ts
 * import { i64, toHex } from "@streamkit/core";
 * console.log(toHex(i64(123).bytes)); // "800000000000007b"
 * console.log(toHex(i64(-123n).bytes)); // "7fffffffffffff85"
 * ```
 */
export function i64(value: number | bigint): TaggedPart {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw invalid(`i64: ${value} is not a safe integer (use a bigint beyond 2^53-1)`);
    }
    const hi = Math.floor(value / TWO_POW_32);
    return { tag: "i64", bytes: writeHiLo((hi ^ 0x80000000) >>> 0, value - hi * TWO_POW_32) };
  }
  if (value < I64_MIN || value > I64_MAX) throw invalid(`i64: ${value} is outside -2^63..2^63-1`);
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value) ^ (1n << 63n));
  return { tag: "i64", bytes };
}

/**
 * An unsigned 64-bit integer part, big-endian. Numbers must be non-negative safe integers;
 * pass a `bigint` for the full range.
 *
 * @example
 * ```ts
 * import { toHex, u64 } from "@streamkit/core";
 * console.log(toHex(u64(255).bytes)); // "00000000000000ff"
 * ```
 */
export function u64(value: number | bigint): TaggedPart {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalid(`u64: ${value} is not a non-negative safe integer`);
    }
    const hi = Math.floor(value / TWO_POW_32);
    return { tag: "u64", bytes: writeHiLo(hi, value - hi * TWO_POW_32) };
  }
  if (value < 0n || value > U64_MAX) throw invalid(`u64: ${value} is outside 0..2^64-1`);
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value);
  return { tag: "u64", bytes };
}

/**
 * A float part with the ordering transform: positive numbers get the sign bit set, negative
 * numbers have every bit inverted, so byte order is numeric order. `-0` encodes as `0`; NaN
 * encodes as the canonical NaN bits `7ff8000000000001`, as the Go implementation does.
 *
 * @example
 * ```ts
 * import { f64, toHex } from "@streamkit/core";
 * console.log(toHex(f64(3.14).bytes)); // "c0091eb851eb851f"
 * ```
 */
export function f64(value: number): TaggedPart {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  if (Number.isNaN(value)) {
    view.setUint32(0, 0x7ff80000);
    view.setUint32(4, 0x00000001);
    return { tag: "f64", bytes };
  }
  view.setFloat64(0, value === 0 ? 0 : value);
  if (bytes[0] & 0x80) {
    for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i] & 0xff;
  } else {
    bytes[0] |= 0x80;
  }
  return { tag: "f64", bytes };
}

/**
 * A UUID part: its 16 raw bytes in RFC 4122 order. Accepts any case.
 *
 * @example
 * ```ts
 * import { toHex, uuid } from "@streamkit/core";
 * console.log(toHex(uuid("550E8400-E29B-41D4-A716-446655440000").bytes));
 * // "550e8400e29b41d4a716446655440000"
 * ```
 */
export function uuid(text: string): TaggedPart {
  if (!isUuid(text)) {
    throw invalid(`uuid: ${JSON.stringify(text)} is not a UUID (8-4-4-4-12 hex digits)`);
  }
  return { tag: "uuid", bytes: fromHex(text.replaceAll("-", "")) };
}

function encodePart(part: KeyPart): Uint8Array {
  switch (typeof part) {
    case "string":
      return utf8.encode(part);
    case "boolean":
      return part ? ONE : ZERO;
    case "number":
      return i64(part).bytes;
    case "symbol":
      if (part === END) return FF;
      break;
    case "object":
      if (part === null) return ZERO;
      if (part instanceof Uint8Array) return part;
      if (part.bytes instanceof Uint8Array) return part.bytes;
      break;
  }
  throw invalid(`lexkey: unsupported key part ${String(part)}`);
}

function join(parts: readonly KeyPart[], suffix: number | undefined): Uint8Array {
  const encoded = parts.map(encodePart);
  let length = Math.max(encoded.length - 1, 0) + (suffix === undefined ? 0 : 1);
  for (const bytes of encoded) length += bytes.length;
  const key = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < encoded.length; i++) {
    if (i > 0) key[at++] = 0x00;
    key.set(encoded[i], at);
    at += encoded[i].length;
  }
  if (suffix !== undefined) key[at] = suffix;
  return key;
}

/**
 * Encodes parts into one key, joined by 0x00 separators.
 *
 * @example
 * ```ts
 * import { encodeKey, toHex } from "@streamkit/core";
 * console.log(toHex(encodeKey("partition", "row"))); // "706172746974696f6e00726f77"
 * ```
 */
export function encodeKey(...parts: KeyPart[]): Uint8Array {
  return join(parts, undefined);
}

/**
 * The key of `parts` followed by 0x00: below every key that extends that prefix with a
 * further part.
 *
 * @example
 * ```ts
 * import { encodeFirst, toHex } from "@streamkit/core";
 * console.log(toHex(encodeFirst("part"))); // "7061727400"
 * ```
 */
export function encodeFirst(...parts: KeyPart[]): Uint8Array {
  return join(parts, 0x00);
}

/**
 * The key of `parts` followed by 0xFF: above every key that extends that prefix.
 *
 * @example
 * ```ts
 * import { encodeLast, toHex } from "@streamkit/core";
 * console.log(toHex(encodeLast("part"))); // "70617274ff"
 * ```
 */
export function encodeLast(...parts: KeyPart[]): Uint8Array {
  return join(parts, 0xff);
}

/**
 * Compares two keys byte by byte: negative, zero or positive, like a sort comparator.
 *
 * @example
 * ```ts
 * import { compareKeys, encodeKey } from "@streamkit/core";
 * console.log(compareKeys(encodeKey("a"), encodeKey("ab")) < 0); // true
 * ```
 */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Lower-case hex of bytes.
 *
 * @example
 * ```ts
 * import { toHex } from "@streamkit/core";
 * console.log(toHex(new Uint8Array([0, 255]))); // "00ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX_PAIRS[bytes[i]];
  return hex;
}

/**
 * Bytes of a hex string (either case); anything else is `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { fromHex } from "@streamkit/core";
 * console.log(fromHex("00ff")); // Uint8Array(2) [ 0, 255 ]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw invalid(`fromHex: expected an even number of hex digits, got ${hex.length} characters`);
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
