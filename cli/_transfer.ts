// The resumable, exact move of one segment (import and copy): what the destination holds
// already is compared with the source, entry by entry, and only the rest is restored, so a move
// run again after an interruption continues where the destination stops and never writes an
// entry twice.

import { type Entry, entryDifferences, type Store } from "@streamkit/core";
import { CheckFailed } from "./_errors.ts";
import type { Progress } from "./_progress.ts";

/** What moving one segment did. */
export interface SegmentMove {
  /** Entries the destination held already, compared with the source's and equal. */
  checked: number;
  /** Entries restored into the destination. */
  restored: number;
}

/** A segment of the source: its entries, in sequence order. */
export interface SegmentRun {
  space: string;
  segment: string;
  entries: AsyncIterable<Entry>;
}

/** What moving several segments did, or has done so far. */
export interface SegmentsMove {
  /** The spaces of the segments moved (or being moved). */
  spaces: Set<string>;
  /** Segments moved, the one being moved included. */
  segments: number;
  /** Entries the destination held already, compared with the source's and equal. */
  checked: number;
  /** Entries restored into the destination, each committed. */
  restored: number;
}

/** A move that has done nothing yet. */
export function newSegmentsMove(): SegmentsMove {
  return { spaces: new Set(), segments: 0, checked: 0, restored: 0 };
}

/**
 * Moves each of `runs` into `destination` with {@linkcode moveSegment}, one after the other,
 * counting every entry done in `progress` (stopped if a move fails). `moved` is kept up to date
 * as entries are checked and committed, so that a caller can tell what a move that failed did.
 */
export async function moveSegments(
  destination: Store,
  runs: AsyncIterable<SegmentRun>,
  progress: Progress,
  signal: AbortSignal,
  moved: SegmentsMove = newSegmentsMove(),
): Promise<SegmentsMove> {
  try {
    for await (const { space, segment, entries } of runs) {
      moved.spaces.add(space);
      moved.segments++;
      await moveSegment(destination, space, segment, entries, {
        signal,
        onEntry: (entry, restored) => {
          if (restored) moved.restored++;
          else moved.checked++;
          progress.add(entry.payload.byteLength);
        },
      });
    }
  } catch (error) {
    progress.stop();
    throw error;
  }
  return moved;
}

/**
 * A batch of the source's entries is restored once it holds this many entries or payload
 * bytes, at the next trx boundary.
 */
const BATCH_ENTRIES = 1_000;
const BATCH_BYTES = 1024 * 1024;

/** Entries of the source read for one `restore`. */
interface Batch {
  /** Whole trxs, in order (the last one may be cut only by the end of the source). */
  entries: Entry[];
  /** The source's next entry, the first of another trx, not in this batch. */
  next?: Entry;
  /** Whether the source has nothing after `entries` (or failed). */
  done: boolean;
  /** What reading the source failed with; `entries` holds the whole trxs read before it. */
  failure?: { error: unknown };
}

/**
 * Reads the source's entries from `first` (or from `source` when it is `undefined`) up to
 * {@linkcode BATCH_ENTRIES} or {@linkcode BATCH_BYTES}, or past them to the end of a trx.
 * Never rejects: a failure of the source is part of the batch, which then keeps the trxs read
 * before it whole and drops the one being read (a restore reading the source itself would have
 * committed the same).
 */
async function readBatch(source: AsyncIterator<Entry>, first: Entry | undefined): Promise<Batch> {
  const entries: Entry[] = [];
  let bytes = 0;
  /** Where the trx being read starts in `entries`. */
  let trxStart = 0;
  let entry = first;
  try {
    while (true) {
      if (entry === undefined) {
        const next = await source.next();
        if (next.done) return { entries, done: true };
        entry = next.value;
      }
      const last = entries[entries.length - 1];
      if (last !== undefined && entry.trx.id !== last.trx.id) {
        if (entries.length >= BATCH_ENTRIES || bytes >= BATCH_BYTES) {
          return { entries, next: entry, done: false };
        }
        trxStart = entries.length;
      }
      entries.push(entry);
      bytes += entry.payload.byteLength;
      entry = undefined;
    }
  } catch (error) {
    return { entries: entries.slice(0, trxStart), done: true, failure: { error } };
  }
}

/** `space`/`segment` as messages name them. */
export function segmentLabel(space: string, segment: string): string {
  return `space ${JSON.stringify(space)} segment ${JSON.stringify(segment)}`;
}

/**
 * Continues the destination's segment with `source` (entries of the segment in sequence order,
 * without gaps): the source's entries up to the destination's last sequence must be there
 * already and equal (every field, metadata in its key order: see `entryDifferences`), else a
 * {@linkcode CheckFailed} names the space, segment and sequence; the later ones are restored
 * exactly. `onEntry` is told of each source entry done: `restored` when this move committed it,
 * not when it was found there already.
 *
 * The rest is restored in batches of whole trxs, each an array (a restore from an array, unlike
 * one from an async source, does not race the signal for every entry), the next batch read from
 * the source while the current one is written.
 */
export async function moveSegment(
  destination: Store,
  space: string,
  segment: string,
  source: AsyncIterable<Entry>,
  options: { signal: AbortSignal; onEntry: (entry: Entry, restored: boolean) => void },
): Promise<SegmentMove> {
  const { signal, onEntry } = options;
  const label = segmentLabel(space, segment);
  const sourceEntries = source[Symbol.asyncIterator]();
  try {
    const first = await sourceEntries.next();
    if (first.done) return { checked: 0, restored: 0 };
    const head = await destination.getSegmentStatus(space, segment, { signal });
    const last = head?.lastSequence ?? 0;
    const firstSequence = first.value.sequence;
    if (firstSequence > last + 1) {
      throw new CheckFailed(
        `${label}: the source goes on at sequence ${firstSequence}, but the destination ` +
          (last === 0 ? "holds none of the segment" : `ends at sequence ${last}`),
      );
    }
    // The source's next entry, not yet compared or restored.
    let pending: Entry | undefined = first.value;
    let checked = 0;
    if (firstSequence <= last) {
      const held = destination.consumeSegment({
        space,
        segment,
        minSequence: firstSequence,
        maxSequence: last,
        signal,
      });
      for await (const theirs of held) {
        if (pending === undefined) {
          const next = await sourceEntries.next();
          if (next.done) {
            throw new CheckFailed(
              `${label}: the destination holds entries up to sequence ${last}, the source ` +
                `only up to ${theirs.sequence - 1}`,
            );
          }
          pending = next.value;
        }
        if (pending.sequence !== theirs.sequence) {
          throw new CheckFailed(
            `${label}: sequence ${pending.sequence} of the source meets sequence ` +
              `${theirs.sequence} in the destination`,
          );
        }
        const differences = entryDifferences(pending, theirs);
        if (differences.length > 0) {
          throw new CheckFailed(
            `${label} sequence ${pending.sequence}: the destination's entry differs from the ` +
              `source's (source vs destination): ${differences.join("; ")}`,
          );
        }
        onEntry(pending, false);
        checked++;
        pending = undefined;
      }
      if (firstSequence + checked - 1 !== last) {
        throw new CheckFailed(
          `${label}: the destination's status ends at sequence ${last}, its entries at ` +
            `${firstSequence + checked - 1}`,
        );
      }
    }
    let restored = 0;
    const restoreBatch = async (entries: Entry[]) => {
      if (entries.length === 0) return;
      let done = 0;
      const committed = (lastSequence: number) => {
        for (; done < entries.length && entries[done].sequence <= lastSequence; done++) {
          onEntry(entries[done], true);
          restored++;
        }
      };
      // One status per committed chunk: its entries count as done even if a later chunk fails.
      for await (const status of destination.restore({ space, segment, signal }, entries)) {
        committed(status.lastSequence);
      }
      committed(Infinity);
    };
    let reading: Promise<Batch> | undefined = readBatch(sourceEntries, pending);
    while (reading !== undefined) {
      const batch: Batch = await reading;
      if (batch.failure !== undefined) {
        if (!signal.aborted) await restoreBatch(batch.entries);
        throw batch.failure.error;
      }
      reading = batch.done ? undefined : readBatch(sourceEntries, batch.next);
      try {
        await restoreBatch(batch.entries);
      } catch (error) {
        // The source is closed below, once it is no longer being read.
        await reading;
        throw error;
      }
    }
    return { checked, restored };
  } finally {
    await sourceEntries.return?.();
  }
}
