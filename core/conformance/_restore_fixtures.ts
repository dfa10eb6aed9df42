// What the restore cases share: hand-built entries of one trx, restore calls collected, and the
// checks of what a restore yielded and left in the segment.

import assert from "node:assert/strict";
import { collect } from "../_async.ts";
import type { ErrorKind, StreamkitError } from "../errors.ts";
import type { Entry, SegmentStatus, Store } from "../types.ts";
import { assertEmptySegment, assertSameItems, expectError } from "./_assertions.ts";
import { copyOfStatus, expectedStatus, plainEntry } from "./_comparable.ts";
import { range, tagged, utf8, ZERO_UUID } from "./_fixtures.ts";
import { readSegment } from "./_store_calls.ts";

/** The node of hand-built entries: no factory's, so a restore that stamps its own shows. */
export const SOURCE_NODE = "6f1c2c57-8c1e-4c55-9d61-0c8d1c3a4b5e";

/** A trx id of UUID version 1: restore takes any UUID, not only the v4 ids produce makes. */
export const V1_TRX_ID = "c232ab00-9414-11ec-b3c8-9f6bdeced846";

/** Restored entries keep old timestamps; consumeSpace reads up to now, so they must be past. */
export function anHourAgo(): number {
  return Date.now() - 3_600_000;
}

/** The trx fields of {@linkcode trxEntries}. */
export interface TrxSpec {
  timestamp: number;
  number: number;
  /** A fresh UUID v4 when absent. */
  id?: string;
  /** {@linkcode SOURCE_NODE} when absent. */
  node?: string;
}

/**
 * A change of each field the entries of one trx share, from a trx of timestamp `timestamp`,
 * node {@linkcode SOURCE_NODE} and number 1: [field, the changed fields].
 */
export function trxChanges(timestamp: number): ReadonlyArray<[string, Partial<TrxSpec>]> {
  return [
    ["timestamp", { timestamp: timestamp + 1 }],
    ["node", { node: ZERO_UUID }],
    ["number", { number: 2 }],
  ];
}

/** Hand-built entries of one trx: `count` sequences from `from`, payload `"<tag>:<sequence>"`. */
export function trxEntries(
  space: string,
  segment: string,
  from: number,
  count: number,
  spec: TrxSpec,
  tag = "x",
): Entry[] {
  const id = spec.id ?? crypto.randomUUID();
  const node = spec.node ?? SOURCE_NODE;
  return range(from, from + count - 1).map((sequence) => ({
    space,
    segment,
    sequence,
    timestamp: spec.timestamp,
    trx: { id, node, number: spec.number },
    payload: utf8(tagged(tag, sequence)),
    metadata: {},
  }));
}

/** Restores and returns the statuses. */
export function restore(
  store: Store,
  space: string,
  segment: string,
  entries: Iterable<Entry> | AsyncIterable<Entry>,
  signal?: AbortSignal,
): Promise<SegmentStatus[]> {
  return collect(store.restore({ space, segment, signal }, entries));
}

/** Restores, asserting it fails with `kind`; returns the statuses yielded before and the error. */
export async function restoreFailing(
  store: Store,
  space: string,
  segment: string,
  entries: Iterable<Entry> | AsyncIterable<Entry>,
  kind: ErrorKind,
  argument?: string | RegExp,
): Promise<{ statuses: SegmentStatus[]; error: StreamkitError }> {
  const statuses: SegmentStatus[] = [];
  const error = await expectError(
    async () => {
      for await (const status of store.restore({ space, segment }, entries)) statuses.push(status);
    },
    kind,
    argument,
  );
  return { statuses, error };
}

/** The last sequence of each chunk a restore commits: one chunk per trx, cut at the limit. */
export function chunkEnds(
  trxSizes: readonly number[],
  maxChunkRecords: number,
  after = 0,
): number[] {
  const ends: number[] = [];
  let end = after;
  for (const size of trxSizes) {
    for (let left = size; left > 0; left -= maxChunkRecords) {
      end += Math.min(left, maxChunkRecords);
      ends.push(end);
    }
  }
  return ends;
}

/**
 * Asserts the statuses a restore yielded: one per chunk ending at `ends`, each what the segment
 * (all of it, from sequence 1: `segmentEntries`) reports after that chunk.
 */
export function assertStatuses(
  statuses: readonly SegmentStatus[],
  segmentEntries: readonly Entry[],
  ends: readonly number[],
): void {
  assert.deepEqual(
    statuses.map(copyOfStatus),
    ends.map((end) => expectedStatus(segmentEntries, end)),
    "one status per committed chunk, each after its chunk",
  );
}

/** Asserts the segment holds exactly `expected` (every field), and its status and peek agree. */
export async function assertRestored(
  store: Store,
  space: string,
  segment: string,
  expected: readonly Entry[],
): Promise<void> {
  assertSameItems(
    (await readSegment(store, space, segment)).map(plainEntry),
    expected.map(plainEntry),
    `entries of ${JSON.stringify(space)}/${JSON.stringify(segment)}`,
  );
  if (expected.length === 0) return await assertEmptySegment(store, space, segment);
  assert.deepEqual(
    copyOfStatus(await store.getSegmentStatus(space, segment)),
    expectedStatus(expected),
    "getSegmentStatus",
  );
  const last = await store.peek(space, segment);
  assert.ok(last, "peek must find the last entry");
  assert.deepEqual(plainEntry(last), plainEntry(expected[expected.length - 1]), "peek");
}
