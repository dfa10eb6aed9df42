/**
 * `follow` and `followSegment`: read everything committed so far, say `caught-up`, wait for
 * the next commit (and, on a shared backend, poll with back-off), read again.
 *
 * @module
 */

import { spaceOffset } from "../offsets.ts";
import type { Entry, FollowArgs, FollowEvent, FollowSegmentArgs } from "../types.ts";
import { validateName } from "../names.ts";
import { optionalCount, pollInterval, type SpaceCursor, spaceCursors } from "./_arguments.ts";
import { segmentKey, type StoreHandle } from "./_opened_store.ts";
import {
  anyEntryPast,
  boundedTimeline,
  earlierBound,
  mergedTimeline,
  readBound,
} from "./_space_reads.ts";

/** What the follow loop needs to know of what it follows. */
interface FollowPlan {
  /** The change-feed keys whose commits wake the follower. */
  keys: string[];
  pollIntervalMs: number;
  /**
   * Everything committed so far, after what was delivered; `versions` are the change feed's
   * versions of `keys` taken before it.
   */
  read(stop: AbortSignal, versions: readonly number[]): Promise<AsyncIterable<Entry> | Entry[]>;
  /** An entry is handed to the caller. */
  delivered(entry: Entry): void;
  /** A read ended, however: the next one resumes after what was delivered. */
  ended(): void;
  /** Whether a full read may find anything (one cheap read per space), for idle polls. */
  probe?(stop: AbortSignal): Promise<boolean>;
}

/** What a follow read of `cursors` after the feed's `versions` names for its sharers. */
function sharedReadKey(versions: readonly number[], cursors: readonly SpaceCursor[]): string {
  let key = versions.join(",");
  for (const { space, offset } of cursors) {
    key += `\u0000${space}\u0000${offset === undefined ? "" : offset.join(",")}`;
  }
  return key;
}

/** Followers of a shared backend poll no sooner than this after an empty read. */
const FIRST_POLL_MS = 25;

/** `store.follow(args)` on `handle`. */
export function followSpaces(handle: StoreHandle, args: FollowArgs): AsyncIterable<FollowEvent> {
  return followLoop(handle, args?.signal, () => {
    const cursors = spaceCursors(args?.spaces);
    // Offsets are encoded once a read ends, from the last entry delivered of each space.
    const lastDelivered = new Map<string, Entry>();
    const { opened } = handle;
    return {
      keys: cursors.map((cursor) => cursor.space),
      pollIntervalMs: pollInterval(args.pollIntervalMs),
      read: async (stop, versions) => {
        const read = async (signal: AbortSignal) => {
          const early = earlierBound(opened, cursors, 0, 0);
          if (early !== undefined) return boundedTimeline(opened, cursors, 0, 0, early, 0, signal);
          const upper = await readBound(opened, cursors, 0, signal);
          return mergedTimeline(opened, cursors, 0, upper, 0, signal);
        };
        // In one process every commit moves the feed: followers at one position with the same
        // versions read the same entries. Another process's commits do not (a shared backend).
        if (opened.backend.shared !== undefined) return read(stop);
        const key = sharedReadKey(versions, cursors);
        return await opened.sharedReads.read(key, read, stop) ?? read(stop);
      },
      delivered: (entry) => lastDelivered.set(entry.space, entry),
      ended: () => {
        for (const cursor of cursors) {
          const last = lastDelivered.get(cursor.space);
          if (last) cursor.offset = spaceOffset(last);
        }
        lastDelivered.clear();
      },
      probe: (stop) => anyEntryPast(opened, cursors, stop),
    };
  });
}

/** `store.followSegment(args)` on `handle`. */
export function followSegment(
  handle: StoreHandle,
  args: FollowSegmentArgs,
): AsyncIterable<FollowEvent> {
  return followLoop(handle, args?.signal, () => {
    const space = validateName("space", args?.space);
    const segment = validateName("segment", args.segment);
    let after = optionalCount("afterSequence", args.afterSequence);
    const { backend, watermark } = handle.opened;
    return {
      keys: [segmentKey(space, segment)],
      pollIntervalMs: pollInterval(args.pollIntervalMs),
      read: (stop) => {
        const range = { minSequence: after + 1, maxSequence: Number.MAX_SAFE_INTEGER, limit: 0 };
        return Promise.resolve(backend.scanSegment(space, segment, range, stop));
      },
      delivered: (entry) => {
        // Its space offset may be resumed from: later chunks must be stamped above it.
        watermark.observe(space, entry.timestamp);
        after = entry.sequence;
      },
      ended: () => {},
    };
  });
}

/**
 * The loop over the plan `makePlan` returns (called on the first `next()`, so bad arguments
 * fail there like every read's): read (`delivered` sees each entry handed out, `ended` the end
 * of the read), say `caught-up`, wait for a commit of this process to the plan's `keys` (and,
 * on a shared backend, poll: at once after a read that found entries, then backing off to
 * `pollIntervalMs`, asking `probe` first when there is one), and again.
 */
async function* followLoop(
  handle: StoreHandle,
  signal: AbortSignal | undefined,
  makePlan: () => FollowPlan,
): AsyncIterable<FollowEvent> {
  const plan = makePlan();
  const { keys, pollIntervalMs } = plan;
  handle.assertReadable(signal);
  const stop = handle.stopSignal(signal);
  const { feed, backend } = handle.opened;
  const polls = backend.shared !== undefined;
  const firstPollMs = Math.min(FIRST_POLL_MS, pollIntervalMs);
  let waitMs = firstPollMs;
  let caughtUpSaid = false;
  let deliveredSinceCaughtUp = false;
  while (true) {
    // Taken before reading: a commit that lands during the read is waited for by no one.
    const versions = feed.versions(keys);
    let delivered = 0;
    const timeline = await plan.read(stop, versions);
    try {
      for await (const entry of timeline) {
        handle.assertReadable(signal);
        plan.delivered(entry);
        delivered++;
        deliveredSinceCaughtUp = true;
        yield { type: "entry", entry };
      }
    } finally {
      plan.ended();
    }
    handle.assertReadable(signal);
    if (!caughtUpSaid || deliveredSinceCaughtUp) {
      caughtUpSaid = true;
      deliveredSinceCaughtUp = false;
      yield { type: "caught-up" };
    }
    if (!polls) {
      await feed.wait(keys, versions, stop);
      continue;
    }
    if (delivered > 0) {
      waitMs = firstPollMs;
      continue;
    }
    // Nothing new, or entries there but held back (another process's chunk still pending):
    // back off either way until a read delivers again or this process commits.
    while (true) {
      await feed.wait(keys, versions, stop, waitMs);
      if (feed.changedSince(keys, versions)) {
        waitMs = firstPollMs;
        break;
      }
      waitMs = Math.min(2 * waitMs, pollIntervalMs);
      if (!plan.probe || await plan.probe(stop)) break;
    }
  }
}
