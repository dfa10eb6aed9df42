/**
 * Reads of space timelines: how far a read may go (gap-free tailing), the range of one space
 * after its offset, several spaces merged into one timeline.
 *
 * @module
 */

import { concatBytes } from "../codec/bytes.ts";
import { prefixEnd, spaceIndexPrefix } from "../codec/keys.ts";
import { i64 } from "../codec/lexkey.ts";
import { parseSpaceOffset } from "../offsets.ts";
import type { Entry } from "../types.ts";
import type { SpaceCursor } from "./_arguments.ts";
import { mergeTimelines } from "./_merge.ts";
import type { OpenedStore } from "./_opened_store.ts";

/**
 * How far a read of `cursors` may go: the lowest of their readable bounds (below chunks this
 * process is still committing, and the clock's now, or, on a shared backend, what it allows by
 * its own time), and `maxTimestamp` when given. One bound for all the spaces keeps reads ordered
 * across calls.
 */
export async function readBound(
  opened: OpenedStore,
  cursors: readonly SpaceCursor[],
  maxTimestamp: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { watermark, clock, backend } = opened;
  const shared = backend.shared;
  // A shared backend's bound keeps to its own time: this process's clock may be behind it.
  const now = shared ? Infinity : clock.now();
  let bound = now;
  for (const { space } of cursors) bound = Math.min(bound, watermark.boundOf(space, now));
  if (shared) {
    const held = await Promise.all(
      cursors.map(({ space }) => shared.spaceReadBound(space, signal)),
    );
    for (const limit of held) if (limit !== undefined) bound = Math.min(bound, limit);
  }
  // Never read where a chunk of this store could still land (gap-free tailing).
  for (const { space } of cursors) watermark.observe(space, bound);
  if (shared) {
    for (const { space } of cursors) {
      opened.provenBounds.set(space, Math.max(opened.provenBounds.get(space) ?? bound, bound));
    }
  }
  return maxTimestamp > 0 ? Math.min(maxTimestamp, bound) : bound;
}

/**
 * On a shared backend, the bound up to which a read of `cursors` may go before asking for a new
 * one: the lowest of the bounds it gave the spaces before (a bound it gave stays good for every
 * later read: `SharedBackend.spaceReadBound`); `undefined` when a space has none, or when no
 * space has anything to read below it.
 */
export function earlierBound(
  opened: OpenedStore,
  cursors: readonly SpaceCursor[],
  minTimestamp: number,
  maxTimestamp: number,
): number | undefined {
  if (!opened.backend.shared) return undefined;
  let early = maxTimestamp > 0 ? maxTimestamp : Infinity;
  for (const { space } of cursors) {
    const proven = opened.provenBounds.get(space);
    if (proven === undefined) return undefined;
    early = Math.min(early, proven);
  }
  const below = cursors.some(({ space, offset }) => {
    const after = offset ? parseSpaceOffset(space, offset).timestamp : -Infinity;
    return Math.max(minTimestamp, after) < early;
  });
  return below ? early : undefined;
}

/**
 * The spaces' timeline after their offsets, above `minTimestamp`, up to a new read bound, when
 * {@linkcode earlierBound} gives one: the part up to it is read at once, beside the query of the
 * new bound, and the rest once that has come (one round trip less on a shared backend).
 */
export async function* boundedTimeline(
  opened: OpenedStore,
  cursors: readonly SpaceCursor[],
  minTimestamp: number,
  maxTimestamp: number,
  early: number,
  limit: number,
  signal: AbortSignal | undefined,
): AsyncIterable<Entry> {
  const first = mergedTimeline(opened, cursors, minTimestamp, early, limit, signal)[
    Symbol.asyncIterator
  ]();
  // Asked for now: the shards' first pages travel while the new bound is asked for, and the
  // rest's first pages while the first part is read.
  const firstNext = first.next();
  firstNext.catch(() => {});
  let rest: AsyncIterator<Entry> | undefined;
  try {
    const upper = await readBound(opened, cursors, maxTimestamp, signal);
    let restNext: Promise<IteratorResult<Entry>> | undefined;
    if (upper > early) {
      rest = mergedTimeline(opened, cursors, Math.max(minTimestamp, early), upper, limit, signal)[
        Symbol.asyncIterator
      ]();
      restNext = rest.next();
      restNext.catch(() => {});
    }
    for (let item = await firstNext; !item.done; item = await first.next()) yield item.value;
    if (rest && restNext) {
      for (let item = await restNext; !item.done; item = await rest.next()) yield item.value;
    }
  } finally {
    await first.return?.();
    await rest?.return?.();
  }
}

function maxBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] > b[i] ? a : b;
  }
  return a.length >= b.length ? a : b;
}

/** The entries of one space after its cursor's offset, above `minTimestamp`, up to `upper`. */
export function spaceTimeline(
  opened: OpenedStore,
  cursor: SpaceCursor,
  minTimestamp: number,
  upper: number,
  limit: number,
  signal: AbortSignal | undefined,
): AsyncIterable<Entry> {
  const prefix = spaceIndexPrefix(cursor.space);
  let gt = prefix;
  if (minTimestamp > 0) gt = concatBytes(prefix, i64(minTimestamp + 1).bytes);
  if (cursor.offset !== undefined) gt = maxBytes(gt, cursor.offset);
  const lt = concatBytes(prefix, i64(upper + 1).bytes);
  return opened.backend.scanSpace(cursor.space, { gt, lt, limit }, signal);
}

/** The spaces' timelines merged by (timestamp, space, segment, sequence). */
export function mergedTimeline(
  opened: OpenedStore,
  cursors: readonly SpaceCursor[],
  minTimestamp: number,
  upper: number,
  limit: number,
  signal: AbortSignal | undefined,
): AsyncIterable<Entry> {
  const timelines = cursors.map((cursor) =>
    spaceTimeline(opened, cursor, minTimestamp, upper, limit, signal)
  );
  return timelines.length === 1 ? timelines[0] : mergeTimelines(timelines);
}

/**
 * Whether any of the spaces holds an entry after its offset, at any timestamp: one cheap read
 * per space for an idle follower of a shared store, before a full read with its bounds.
 */
export async function anyEntryPast(
  opened: OpenedStore,
  cursors: readonly SpaceCursor[],
  signal: AbortSignal,
): Promise<boolean> {
  const found = await Promise.all(cursors.map(async ({ space, offset }) => {
    const prefix = spaceIndexPrefix(space);
    const range = { gt: offset ?? prefix, lt: prefixEnd(prefix), limit: 1 };
    for await (const _ of opened.backend.scanSpace(space, range, signal)) return true;
    return false;
  }));
  return found.includes(true);
}
