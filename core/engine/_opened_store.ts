/**
 * What every handle on one opened store shares, and the key that names a segment in it.
 *
 * @module
 */

import type { StoreBackend } from "../backend.ts";
import type { StatusBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import type { ChangeFeed } from "./_change_feed.ts";
import type { KeyedLock } from "./_lock.ts";
import type { SharedReads } from "./_shared_reads.ts";
import type { SpaceWatermark } from "./_watermark.ts";

/** One opened store: its backend and the engine state its handles share. */
export interface OpenedStore {
  storeId: string;
  backend: StoreBackend;
  /** Serialises head read and commit per segment, across handles. */
  lock: KeyedLock;
  watermark: SpaceWatermark;
  /** Wakes followers when a chunk commits. */
  feed: ChangeFeed;
  clock: Clock;
  nodeId: string;
  bus: StatusBus | undefined;
  /**
   * Per space, the highest read bound a shared backend gave: every later read may read up to it
   * at once (see `boundedTimeline`).
   */
  provenBounds: Map<string, number>;
  /** Follow reads under way, which followers at the same position join. */
  sharedReads: SharedReads;
}

/**
 * A segment's key in the lock and the change feed: names hold no U+0000, so it never equals a
 * space's key or another segment's.
 */
export function segmentKey(space: string, segment: string): string {
  return `${space}\u0000${segment}`;
}

/** What the engine's read, follow and write paths need of the handle they run on. */
export interface StoreHandle {
  readonly opened: OpenedStore;
  /** Commits in flight through this handle: `close()` waits for them. */
  readonly commitsInFlight: Set<Promise<unknown>>;
  /** Throws `Closed` once the handle is closed, or the signal's reason once it aborted. */
  assertReadable(signal: AbortSignal | undefined): void;
  /** The caller's signal or the handle's close, whichever comes first. */
  stopSignal(signal: AbortSignal | undefined): AbortSignal;
}
