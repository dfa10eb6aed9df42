/**
 * What the two streamkit contestants ("level", "azure") share: the records of a scenario,
 * produced through `Store.produce` with the segments written concurrently, and read back
 * through `consumeSegment` or `consumeSpace`.
 *
 * @module
 */

import type { Entry, ProduceRecord, Store } from "../../core/mod.ts";
import { expectPayloadBytes } from "./_contestant.ts";
import { type Read, READ_SEGMENT, segmentPayloads, SPACE } from "./_workload.ts";

/**
 * A segment's name and the records produced into it.
 *
 * @example
 * ```ts ignore
 * const one: SegmentRecords = { segment: "segment-0", records: [{ sequence: 1, payload }] };
 * ```
 */
export interface SegmentRecords {
  segment: string;
  records: Iterable<ProduceRecord>;
}

/**
 * The records of `entries` payloads split over `segments` segments, built before the clock
 * starts.
 *
 * @example
 * ```ts ignore
 * const segments = segmentRecords(100_000, CONCURRENT_SEGMENTS, DEFAULT_SEED);
 * ```
 */
export function segmentRecords(entries: number, segments: number, seed: number): SegmentRecords[] {
  return segmentPayloads(entries, segments, seed).map(({ segment, payloads }) => ({
    segment,
    records: payloads.map((payload, i) => ({ sequence: i + 1, payload })),
  }));
}

/**
 * Produces the records of each segment, the segments concurrently.
 *
 * @example
 * ```ts ignore
 * await produceSegments(store, segmentRecords(1_000, 1, DEFAULT_SEED));
 * ```
 */
export async function produceSegments(store: Store, segments: SegmentRecords[]): Promise<void> {
  await Promise.all(segments.map(async ({ segment, records }) => {
    for await (const _status of store.produce({ space: SPACE, segment }, records)) {
      // Each committed chunk yields its status; the loop drives the writes.
    }
  }));
}

/**
 * The entries a read scenario consumes: the segment read, or the whole space.
 *
 * @example
 * ```ts ignore
 * const count = await countEntries(consumed(store, "space"));
 * ```
 */
export function consumed(store: Store, read: Read): AsyncIterable<Entry> {
  return read === "segment"
    ? store.consumeSegment({ space: SPACE, segment: READ_SEGMENT })
    : store.consumeSpace({ space: SPACE });
}

/**
 * Counts `entries`, checking that each carried its payload.
 *
 * @example
 * ```ts ignore
 * const count = await countEntries(store.consumeSpace({ space: SPACE }));
 * ```
 */
export async function countEntries(entries: AsyncIterable<Entry>): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const entry of entries) {
    count++;
    bytes += entry.payload.length;
  }
  expectPayloadBytes(count, bytes);
  return count;
}
