/**
 * Hex digits and UUID text, shared by lexkey's `toHex` and the codec's UUID fields.
 *
 * @module
 */

/** UUID text: 8-4-4-4-12 hex digits, either case (any version). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is UUID text (8-4-4-4-12 hex digits, either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

const HEX_DIGITS = "0123456789abcdef";

/** The two lower-case hex digits of each byte value. */
export const HEX_PAIRS: readonly string[] = Array.from(
  { length: 256 },
  (_, byte) => HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 15],
);

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUES["0123456789abcdef".charCodeAt(digit)] = digit;
  HEX_VALUES["0123456789ABCDEF".charCodeAt(digit)] = digit;
}

/** The value of a hex digit's UTF-16 unit (either case), or -1 when it is not one. */
export function hexValue(unit: number): number {
  return unit < 128 ? HEX_VALUES[unit] : -1;
}

/** The 16 bytes at `b[at]` as lower-case UUID text (8-4-4-4-12). */
export function formatUuid(b: Uint8Array, at: number): string {
  const h = HEX_PAIRS;
  return h[b[at]] + h[b[at + 1]] + h[b[at + 2]] + h[b[at + 3]] + "-" +
    h[b[at + 4]] + h[b[at + 5]] + "-" + h[b[at + 6]] + h[b[at + 7]] + "-" +
    h[b[at + 8]] + h[b[at + 9]] + "-" + h[b[at + 10]] + h[b[at + 11]] + h[b[at + 12]] +
    h[b[at + 13]] + h[b[at + 14]] + h[b[at + 15]];
}
