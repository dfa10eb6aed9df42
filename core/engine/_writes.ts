/**
 * The write path of `produce` and `restore`: chunks cut by the chunk reader, each checked
 * against the segment's head and committed under the segment's lock, with its timestamp held
 * in the space watermark until the backend has it.
 *
 * @module
 */

import type { SegmentHead } from "../backend.ts";
import type { Clock } from "../clock.ts";
import { SequenceMismatchError, StreamkitError } from "../errors.ts";
import { validateName } from "../names.ts";
import type {
  Entry,
  ProduceArgs,
  ProduceRecord,
  RestoreArgs,
  SegmentStatus,
  Trx,
} from "../types.ts";
import { checkRestoredEntry } from "./_arguments.ts";
import { ChunkReader } from "./_chunk_reader.ts";
import { segmentKey, type StoreHandle } from "./_opened_store.ts";
import type { SpaceWatermark } from "./_watermark.ts";

/** `store.produce(args, records)` on `handle`. */
export async function* produceChunks(
  handle: StoreHandle,
  args: ProduceArgs,
  records: Iterable<ProduceRecord> | AsyncIterable<ProduceRecord>,
): AsyncIterable<SegmentStatus> {
  const { space, segment, stop } = startWrite(handle, args);
  const reader = new ChunkReader(records, handle.opened.backend.limits, space, segment);
  yield* commitChunks(
    handle,
    space,
    segment,
    reader,
    stop,
    (chunk) => produceChunk(handle, space, segment, chunk, stop),
  );
}

/** `store.restore(args, entries)` on `handle`. */
export async function* restoreChunks(
  handle: StoreHandle,
  args: RestoreArgs,
  entries: Iterable<Entry> | AsyncIterable<Entry>,
): AsyncIterable<SegmentStatus> {
  const { space, segment, stop } = startWrite(handle, args);
  const reader = new ChunkReader(entries, handle.opened.backend.limits, space, segment, {
    argument: "entries",
    check: (entry, index) => checkRestoredEntry(entry, index, space, segment),
    // One trx commits together: a chunk holds entries of one trx (more only when it is cut).
    // `next` is not checked yet: anything without this trx's id is another chunk's problem.
    startsChunk: (previous, next) =>
      previous.trx.id !== (next as { trx?: { id?: unknown } } | null)?.trx?.id,
  });
  // A trx cut by the chunk limit goes on in the next chunk, which must agree with its start.
  let lastRestored: Entry | undefined;
  yield* commitChunks(handle, space, segment, reader, stop, (chunk) => {
    const trxStart = lastRestored?.trx.id === chunk[0].trx.id ? lastRestored : chunk[0];
    lastRestored = chunk[chunk.length - 1];
    return restoreChunk(handle, space, segment, chunk, trxStart, stop);
  });
}

/** Checks a write's names and the handle's state; the signal that stops the write. */
function startWrite(handle: StoreHandle, args: ProduceArgs | RestoreArgs): {
  space: string;
  segment: string;
  stop: AbortSignal;
} {
  const space = validateName("space", args?.space);
  const segment = validateName("segment", args.segment);
  handle.assertReadable(args.signal);
  return { space, segment, stop: handle.stopSignal(args.signal) };
}

/**
 * Commits the chunks `reader` cuts, one at a time, yielding the status after each; ends once
 * a shared backend has finished writing them (see `SharedBackend.finishWrites`).
 */
async function* commitChunks<T extends ProduceRecord>(
  handle: StoreHandle,
  space: string,
  segment: string,
  reader: ChunkReader<T>,
  stop: AbortSignal,
  commitChunk: (chunk: T[]) => Promise<SegmentStatus>,
): AsyncIterable<SegmentStatus> {
  let committed = false;
  try {
    while (true) {
      const chunk = await reader.next(stop);
      if (chunk.length === 0) break;
      const commit = commitChunk(chunk);
      handle.commitsInFlight.add(commit);
      try {
        const status = await commit;
        committed = true;
        yield status;
      } finally {
        handle.commitsInFlight.delete(commit);
      }
    }
  } finally {
    reader.close();
  }
  if (committed) await handle.opened.backend.shared?.finishWrites(space, segment);
}

/** A chunk as produce and restore describe it to {@linkcode commitChunk}, given the head. */
interface ChunkDraft {
  trx: Trx;
  lastSequence: number;
  /** The lowest timestamp the chunk will take. */
  lowest: number;
  /**
   * Whether the store stamps the chunk (produce: its clock, or a shared backend's time checked
   * against that clock), rather than its entries (restore).
   */
  clockStamped: boolean;
  /** The chunk's entries, stamped at `notBefore` or later and marked in the watermark. */
  stamp(notBefore: number): Promise<Entry[]>;
}

/** Attempts at one chunk when a shared backend's commit fails with a transient `Conflict`. */
const MAX_COMMIT_ATTEMPTS = 3;

function isTransientConflict(error: unknown): boolean {
  return error instanceof StreamkitError && error.kind === "Conflict" && error.transient;
}

/**
 * Commits one chunk under the segment's lock: reads the head, checks that the chunk continues
 * it, drafts the chunk against it, has a shared backend cover it, stamps it (marking its
 * timestamp in flight in the watermark), commits, releases the watermark, wakes followers,
 * notifies. A shared backend's transient `Conflict` wrote nothing: the chunk goes again from the
 * head read.
 */
function commitChunk(
  handle: StoreHandle,
  space: string,
  segment: string,
  firstSequence: number,
  stop: AbortSignal,
  draft: (head: SegmentHead | undefined) => ChunkDraft,
): Promise<SegmentStatus> {
  const { lock, backend, watermark, bus, storeId, feed, clock } = handle.opened;
  const shared = backend.shared;
  return lock.run(segmentKey(space, segment), async () => {
    for (let attempt = 1;; attempt++) {
      stop.throwIfAborted();
      let head = await (attempt === 1 && shared
        ? shared.readHeadForWrite(space, segment)
        : backend.readHead(space, segment));
      if (firstSequence !== (head?.status.lastSequence ?? 0) + 1 && shared && attempt === 1) {
        // A remembered head may be stale: refuse only what the stored head refuses.
        head = await backend.readHead(space, segment);
      }
      const expected = (head?.status.lastSequence ?? 0) + 1;
      if (firstSequence !== expected) {
        throw new SequenceMismatchError(space, segment, expected, firstSequence);
      }
      // Past this point the chunk commits whole, whatever the signal does.
      stop.throwIfAborted();
      const chunk = draft(head);
      const { trx, lastSequence, lowest } = chunk;
      const notBefore = shared
        ? await shared.coverChunk({
          space,
          segment,
          head,
          trx,
          firstSequence,
          lastSequence,
          lowest,
          clock: chunk.clockStamped ? clock : undefined,
        })
        : lowest;
      const entries = await chunk.stamp(Math.max(lowest, notBefore));
      const timestamp = entries[0].timestamp;
      const status: SegmentStatus = {
        space,
        segment,
        firstSequence: head?.status.firstSequence ?? firstSequence,
        firstTimestamp: head?.status.firstTimestamp ?? timestamp,
        lastSequence: entries[entries.length - 1].sequence,
        lastTimestamp: timestamp,
      };
      try {
        await backend.commit({ space, segment, head, trx, timestamp, entries, status });
      } catch (error) {
        if (shared && attempt < MAX_COMMIT_ATTEMPTS && isTransientConflict(error)) {
          continue;
        }
        throw error;
      } finally {
        watermark.release(space, timestamp);
      }
      // After the release: a woken follower's read bound already lets the chunk through.
      feed.committed(space, segmentKey(space, segment));
      bus?.publish(storeId, { ...status });
      return status;
    }
  });
}

/**
 * The chunk's timestamp: the clock, or `notBefore` (the segment's last timestamp, or what a
 * shared backend requires) if later; when a reader of the space already read through that
 * millisecond, the next one (waiting for it, at most 1 ms).
 */
async function stampChunk(
  watermark: SpaceWatermark,
  clock: Clock,
  space: string,
  notBefore: number,
): Promise<number> {
  while (true) {
    const timestamp = watermark.tryStamp(space, Math.max(clock.now(), notBefore));
    if (timestamp !== undefined) return timestamp;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A produce chunk: stamped now (see `stampChunk`), under a new trx. */
function produceChunk(
  handle: StoreHandle,
  space: string,
  segment: string,
  records: ProduceRecord[],
  stop: AbortSignal,
): Promise<SegmentStatus> {
  const { watermark, clock, nodeId, backend } = handle.opened;
  // A shared backend's time stamps chunks (this clock is only checked against it).
  const byBackendTime = backend.shared !== undefined;
  return commitChunk(handle, space, segment, records[0].sequence, stop, (head) => {
    const trx = { id: crypto.randomUUID(), node: nodeId, number: (head?.trxNumber ?? 0) + 1 };
    const lastTimestamp = head?.status.lastTimestamp ?? 0;
    return {
      trx,
      lastSequence: records[records.length - 1].sequence,
      lowest: byBackendTime ? lastTimestamp : Math.max(clock.now(), lastTimestamp),
      clockStamped: true,
      stamp: async (notBefore) => {
        const timestamp = byBackendTime
          ? watermark.stampAtLeast(space, notBefore)
          : await stampChunk(watermark, clock, space, notBefore);
        return records.map((record) => ({
          space,
          segment,
          sequence: record.sequence,
          timestamp,
          trx,
          payload: record.payload,
          metadata: record.metadata ?? {},
        }));
      },
    };
  });
}

/**
 * A restore chunk: entries of one trx, exactly as given, checked against the head and against
 * `trxStart`, the trx's first entry (of an earlier chunk when the trx was cut).
 */
function restoreChunk(
  handle: StoreHandle,
  space: string,
  segment: string,
  chunk: Entry[],
  trxStart: Entry,
  stop: AbortSignal,
): Promise<SegmentStatus> {
  const { trx, timestamp } = trxStart;
  for (const entry of chunk) {
    if (
      entry.timestamp !== timestamp || entry.trx.node !== trx.node ||
      entry.trx.number !== trx.number
    ) {
      throw new StreamkitError(
        "InvalidArgument",
        `entries: sequence ${entry.sequence} is of trx ${trx.id} but differs from its first entry in timestamp, trx node or trx number`,
      );
    }
  }
  return commitChunk(handle, space, segment, chunk[0].sequence, stop, (head) => {
    const first = chunk[0].sequence;
    if (head && timestamp < head.status.lastTimestamp) {
      throw new StreamkitError(
        "InvalidArgument",
        `entries: sequence ${first} has timestamp ${timestamp}, below the segment's last (${head.status.lastTimestamp})`,
      );
    }
    if (head && trx.number < head.trxNumber) {
      throw new StreamkitError(
        "InvalidArgument",
        `entries: sequence ${first} has trx number ${trx.number}, below the segment's last (${head.trxNumber})`,
      );
    }
    return {
      trx: { ...trx },
      lastSequence: chunk[chunk.length - 1].sequence,
      lowest: timestamp,
      clockStamped: false,
      stamp: () => {
        handle.opened.watermark.hold(space, timestamp);
        return Promise.resolve(
          chunk.map((entry) => ({ ...entry, metadata: entry.metadata ?? {} })),
        );
      },
    };
  });
}
