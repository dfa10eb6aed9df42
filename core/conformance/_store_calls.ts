// Store calls as the conformance cases make them: a produce or a read collected into an array.

import { collect } from "../_async.ts";
import type { ConsumeArgs, Entry, ProduceRecord, SegmentStatus, Store } from "../types.ts";

/** Produces and returns the statuses. */
export function produce(
  store: Store,
  space: string,
  segment: string,
  list: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  signal?: AbortSignal,
): Promise<SegmentStatus[]> {
  return collect(store.produce({ space, segment, signal }, list));
}

/** The statuses yielded before a produce failed, and its error (undefined if it did not fail). */
export async function produceUntilError(
  store: Store,
  space: string,
  segment: string,
  list: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
  signal?: AbortSignal,
): Promise<{ statuses: SegmentStatus[]; error: unknown; failed: boolean }> {
  const statuses: SegmentStatus[] = [];
  try {
    for await (const status of store.produce({ space, segment, signal }, list)) {
      statuses.push(status);
    }
    return { statuses, error: undefined, failed: false };
  } catch (error) {
    return { statuses, error, failed: true };
  }
}

/** A segment's entries (optionally bounded). */
export function readSegment(
  store: Store,
  space: string,
  segment: string,
  bounds: Omit<Parameters<Store["consumeSegment"]>[0], "space" | "segment"> = {},
): Promise<Entry[]> {
  return collect(store.consumeSegment({ space, segment, ...bounds }));
}

/** A space's entries (optionally bounded). */
export function readSpace(
  store: Store,
  space: string,
  bounds: Omit<Parameters<Store["consumeSpace"]>[0], "space"> = {},
): Promise<Entry[]> {
  return collect(store.consumeSpace({ space, ...bounds }));
}

/** What `consume` yields, in an array. */
export function readSpaces(store: Store, args: ConsumeArgs): Promise<Entry[]> {
  return collect(store.consume(args));
}

/** Iterates to the end, discarding items; returns their count. */
export async function drain(iterable: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of iterable) count++;
  return count;
}
