/**
 * The offsets readers resume from: an entry's position in its space's timeline and in its
 * segment, and the check that reads a space offset back.
 *
 * @module
 */

import { StreamkitError } from "./errors.ts";
import { compareKeys } from "./codec/lexkey.ts";
import { segmentEntryKey, spaceEntryKey, spaceIndexPrefix } from "./codec/keys.ts";
import { validateName } from "./names.ts";
import type { Entry } from "./types.ts";

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
 * import { type Entry, parseSpaceOffset, spaceOffset } from "@streamkit/core";
 * declare const entry: Entry;
 * const offset = spaceOffset(entry);
 * console.log(parseSpaceOffset(entry.space, offset).sequence === entry.sequence); // true
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
