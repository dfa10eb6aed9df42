/**
 * The key layout shared with the Go streamkit, and the offsets readers resume from.
 *
 * Segment index `DAT,SEGMENTS,space,segment,u64 seq`; space index
 * `DAT,SPACES,space,i64 ts,segment,u64 seq`; inventory `INV,SPACES,space` and
 * `INV,SEGMENTS,space,segment`; status snapshot `INV,SEGMENT_STATUSES,space,segment`.
 *
 * @module
 */

import { StreamkitError } from "./errors.ts";
import { compareKeys, encodeFirst, encodeKey, i64, u64 } from "./lexkey.ts";
import { validateName } from "./names.ts";
import type { Entry } from "./types.ts";

/**
 * The key of an entry in its segment's index: `DAT,SEGMENTS,space,segment,u64 sequence`.
 *
 * @example
 * ```ts
 * import { segmentEntryKey, toHex } from "@streamkit/core";
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
 * import { spaceEntryKey, toHex } from "@streamkit/core";
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
 * import { segmentIndexPrefix } from "@streamkit/core";
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
 * import { spaceIndexPrefix } from "@streamkit/core";
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
 * import { spaceInventoryKey, toHex } from "@streamkit/core";
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
 * import { segmentInventoryKey } from "@streamkit/core";
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
 * import { segmentStatusKey } from "@streamkit/core";
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
 * import { prefixEnd, spaceIndexPrefix } from "@streamkit/core";
 * const start = spaceIndexPrefix("a");
 * const end = prefixEnd(start); // "ab" keys sort after end
 * ```
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  end[end.length - 1] = 0x01;
  return end;
}

/**
 * The opaque position of an entry in its space's timeline; `consumeSpace({ offset })` resumes
 * strictly after it. Equal to the entry's space index key.
 *
 * @example
 * ```ts
 * import { type Entry, spaceOffset, toHex } from "@streamkit/core";
 * declare const lastSeen: Entry;
 * const checkpoint = toHex(spaceOffset(lastSeen)); // store it, resume from it after a crash
 * ```
 */
export function spaceOffset(entry: Entry): Uint8Array {
  return spaceEntryKey(entry.space, entry.timestamp, entry.segment, entry.sequence);
}

/**
 * The position of an entry in its segment's index: `DAT,SEGMENTS,space,segment,u64 sequence`.
 *
 * @example
 * ```ts
 * import { type Entry, segmentOffset } from "@streamkit/core";
 * declare const entry: Entry;
 * console.log(segmentOffset(entry).length);
 * ```
 */
export function segmentOffset(entry: Entry): Uint8Array {
  return segmentEntryKey(entry.space, entry.segment, entry.sequence);
}

/**
 * The position a space offset names.
 *
 * @example
 * ```ts
 * import type { SpacePosition } from "@streamkit/core";
 * const position: SpacePosition = { timestamp: 1700000000000, segment: "order-1", sequence: 7 };
 * ```
 */
export interface SpacePosition {
  /** The entry's timestamp. */
  timestamp: number;
  /** The entry's segment. */
  segment: string;
  /** The entry's sequence. */
  sequence: number;
}

// ignoreBOM: a name may start with U+FEFF, and must come back with it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function invalidOffset(space: string, why: string): StreamkitError {
  return new StreamkitError(
    "InvalidArgument",
    `offset: not a space offset of space ${JSON.stringify(space)} (${why})`,
  );
}

/**
 * Reads a space offset back into its position, checking that it belongs to `space`; anything
 * else is `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { parseSpaceOffset, spaceEntryKey } from "@streamkit/core";
 * const offset = spaceEntryKey("orders", 1700000000000, "order-1", 7);
 * console.log(parseSpaceOffset("orders", offset).sequence); // 7
 * ```
 */
export function parseSpaceOffset(space: string, offset: Uint8Array): SpacePosition {
  if (!(offset instanceof Uint8Array)) throw invalidOffset(space, "expected a Uint8Array");
  const prefix = spaceIndexPrefix(space);
  // prefix, i64 timestamp, 0x00, segment (>= 1 byte), 0x00, u64 sequence
  if (offset.length < prefix.length + 8 + 1 + 1 + 1 + 8) throw invalidOffset(space, "too short");
  if (compareKeys(offset.subarray(0, prefix.length), prefix) !== 0) {
    throw invalidOffset(space, "wrong prefix");
  }
  const view = new DataView(offset.buffer, offset.byteOffset, offset.byteLength);
  const timestampAt = prefix.length;
  const segmentAt = timestampAt + 9;
  const sequenceAt = offset.length - 8;
  if (offset[timestampAt + 8] !== 0x00 || offset[sequenceAt - 1] !== 0x00) {
    throw invalidOffset(space, "missing separator");
  }
  const timestamp = Number(BigInt.asIntN(64, view.getBigUint64(timestampAt) ^ (1n << 63n)));
  const sequence = Number(view.getBigUint64(sequenceAt));
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw invalidOffset(space, "timestamp or sequence out of range");
  }
  let segment: string;
  try {
    segment = strictUtf8.decode(offset.subarray(segmentAt, sequenceAt - 1));
    validateName("offset segment", segment);
  } catch {
    throw invalidOffset(space, "segment is not a valid name");
  }
  return { timestamp, segment, sequence };
}
