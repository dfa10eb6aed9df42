/**
 * What the two streamkit contestants ("level", "azure") share: producing a scenario's records
 * with the segments written concurrently, reading them back, and timing single entries from
 * their produce to a follower.
 *
 * @module
 */

import type { Entry, FollowEvent, ProduceRecord, Store } from "../../core/mod.ts";
import { expectPayloadBytes, type Measured } from "./_contestant.ts";
import { Arrivals, measureFollowLatency } from "./_latency.ts";
import {
  type LatencySamples,
  type Read,
  READ_SEGMENT,
  segmentPayloads,
  SPACE,
} from "./_workload.ts";

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
 * Produces the records of each segment into `space`, the segments concurrently.
 *
 * @example
 * ```ts ignore
 * await produceSegments(store, segmentRecords(1_000, 1, DEFAULT_SEED));
 * ```
 */
export async function produceSegments(
  store: Store,
  segments: SegmentRecords[],
  space: string = SPACE,
): Promise<void> {
  await Promise.all(segments.map(async ({ segment, records }) => {
    for await (const _status of store.produce({ space, segment }, records)) {
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

/**
 * Counts the entries a follow delivers before its first `caught-up` (the history), checking
 * that each carried its payload; leaving the loop ends the follow.
 *
 * @example
 * ```ts ignore
 * const count = await countUntilCaughtUp(store.follow({ spaces: { [SPACE]: undefined } }));
 * ```
 */
export async function countUntilCaughtUp(events: AsyncIterable<FollowEvent>): Promise<number> {
  let count = 0;
  let bytes = 0;
  for await (const event of events) {
    if (event.type === "caught-up") break;
    count++;
    bytes += event.entry.payload.length;
  }
  expectPayloadBytes(count, bytes);
  return count;
}

/**
 * Times single entries produced through `writer` to their arrival at a follower of the space
 * on `follower` (the same store, or the same store opened through another factory), one entry
 * at a time; `pollIntervalMs` is passed to the follow.
 *
 * @example
 * ```ts ignore
 * const measured = await followLatency(store, store, { warmUp: 10, timed: 100 }, DEFAULT_SEED);
 * ```
 */
export async function followLatency(
  writer: Store,
  follower: Store,
  samples: LatencySamples,
  seed: number,
  pollIntervalMs?: number,
): Promise<Measured> {
  const [{ payloads }] = segmentPayloads(samples.warmUp + samples.timed, 1, seed);
  const arrivals = new Arrivals();
  const stop = new AbortController();
  const following = (async () => {
    const spaces = { [SPACE]: undefined };
    for await (const event of follower.follow({ spaces, signal: stop.signal, pollIntervalMs })) {
      if (event.type === "entry") arrivals.arrived(event.entry.sequence);
    }
  })().catch((error) => {
    // Aborting the signal is how the follow ends: iteration ends with its reason.
    if (!stop.signal.aborted) arrivals.fail(error);
  });
  const produceOne = async (sequence: number) => {
    let resolvedAt = NaN;
    const records = [{ sequence, payload: payloads[sequence - 1] }];
    for await (const _status of writer.produce({ space: SPACE, segment: READ_SEGMENT }, records)) {
      resolvedAt = performance.now();
    }
    return resolvedAt;
  };
  try {
    return await measureFollowLatency(samples, arrivals, produceOne);
  } finally {
    stop.abort();
    await following;
  }
}
