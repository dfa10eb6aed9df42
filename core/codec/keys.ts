/**
 * The key layout shared with the Go streamkit, for drivers that store entries under lexkeys.
 *
 * Segment index `DAT,SEGMENTS,space,segment,u64 seq`; space index
 * `DAT,SPACES,space,i64 ts,segment,u64 seq`; inventory `INV,SPACES,space` and
 * `INV,SEGMENTS,space,segment`; status snapshot `INV,SEGMENT_STATUSES,space,segment`.
 *
 * @module
 */

import { encodeFirst, encodeKey, i64, u64 } from "./lexkey.ts";

/**
 * The key of an entry in its segment's index: `DAT,SEGMENTS,space,segment,u64 sequence`.
 *
 * @example
 * ```ts
 * import { segmentEntryKey } from "@streamkit/core/driver";
 * import { toHex } from "@streamkit/core";
 * console.log(toHex(segmentEntryKey("orders", "order-1", 7)));
 * ```
 */
export function segmentEntryKey(space: string, segment: string, sequence: number): Uint8Array {
  return encodeKey("DAT", "SEGMENTS", space, segment, u64(sequence));
}

/**
 * The key of an entry in its space's index: `DAT,SPACES,space,i64 timestamp,segment,u64 sequence`.
 *
 * @example
 * ```ts
 * import { spaceEntryKey } from "@streamkit/core/driver";
 * import { toHex } from "@streamkit/core";
 * console.log(toHex(spaceEntryKey("orders", 1700000000000, "order-1", 7)));
 * ```
 */
export function spaceEntryKey(
  space: string,
  timestamp: number,
  segment: string,
  sequence: number,
): Uint8Array {
  return encodeKey("DAT", "SPACES", space, i64(timestamp), segment, u64(sequence));
}

/**
 * The prefix every segment index key of `space`/`segment` extends, followed by the 0x00
 * separator: scan `[prefix, prefix with its last byte 0x01)` to get exactly that segment.
 *
 * @example
 * ```ts
 * import { segmentIndexPrefix } from "@streamkit/core/driver";
 * const prefix = segmentIndexPrefix("orders", "order-1");
 * console.log(prefix[prefix.length - 1]); // 0
 * ```
 */
export function segmentIndexPrefix(space: string, segment: string): Uint8Array {
  return encodeFirst("DAT", "SEGMENTS", space, segment);
}

/**
 * The prefix every space index key of `space` extends, followed by the 0x00 separator.
 *
 * @example
 * ```ts
 * import { spaceIndexPrefix } from "@streamkit/core/driver";
 * console.log(spaceIndexPrefix("orders").length); // 18
 * ```
 */
export function spaceIndexPrefix(space: string): Uint8Array {
  return encodeFirst("DAT", "SPACES", space);
}

/**
 * The inventory key of a space: `INV,SPACES,space`.
 *
 * @example
 * ```ts
 * import { spaceInventoryKey } from "@streamkit/core/driver";
 * import { toHex } from "@streamkit/core";
 * console.log(toHex(spaceInventoryKey("orders"))); // "494e5600535041434553006f7264657273"
 * ```
 */
export function spaceInventoryKey(space: string): Uint8Array {
  return encodeKey("INV", "SPACES", space);
}

/**
 * The inventory key of a segment: `INV,SEGMENTS,space,segment`.
 *
 * @example
 * ```ts
 * import { segmentInventoryKey } from "@streamkit/core/driver";
 * console.log(segmentInventoryKey("orders", "order-1").length);
 * ```
 */
export function segmentInventoryKey(space: string, segment: string): Uint8Array {
  return encodeKey("INV", "SEGMENTS", space, segment);
}

/**
 * The key of a segment's status snapshot: `INV,SEGMENT_STATUSES,space,segment`.
 *
 * @example
 * ```ts
 * import { segmentStatusKey } from "@streamkit/core/driver";
 * console.log(segmentStatusKey("orders", "order-1").length);
 * ```
 */
export function segmentStatusKey(space: string, segment: string): Uint8Array {
  return encodeKey("INV", "SEGMENT_STATUSES", space, segment);
}

/**
 * The key one past a 0x00-terminated prefix: `prefix` with its last byte set to 0x01. Since
 * names contain no U+0000, `[prefix, prefixEnd(prefix))` holds exactly the keys of that name
 * and never those of a longer name it is a prefix of.
 *
 * @example
 * ```ts
 * import { prefixEnd, spaceIndexPrefix } from "@streamkit/core/driver";
 * const start = spaceIndexPrefix("a");
 * const end = prefixEnd(start); // "ab" keys sort after end
 * ```
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  end[end.length - 1] = 0x01;
  return end;
}
