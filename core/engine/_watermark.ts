/**
 * The per-space watermark that makes tailing a space gap-free: consume never yields an entry at
 * a timestamp a produce still in flight could commit at or below.
 *
 * @module
 */

interface SpaceState {
  /** Timestamps of chunks being committed now, with how many chunks hold each. */
  inFlight: Map<number, number>;
  /** The highest timestamp a reader may have passed: later chunks must be stamped above it. */
  readFloor: number;
}

/**
 * Keeps readers of a space's timeline from passing a position where a chunk could still land.
 *
 * A reader that resumes strictly after the last entry it saw skips nothing only if no entry is
 * ever committed at or below that position afterwards. So readers bound their reads with
 * {@linkcode SpaceWatermark.boundOf} (below every in-flight chunk, and at most `now`), and
 * producers stamp through {@linkcode SpaceWatermark.tryStamp}, which refuses a timestamp at or
 * below what a reader may already have passed: the producer then waits for the clock's next
 * millisecond. Timestamps thus never run ahead of the clock, and a chunk is visible to
 * `consumeSpace` as soon as its produce resolves.
 *
 * All calls are synchronous, so in one JavaScript realm a stamp and a read bound never
 * interleave.
 *
 * @example
 * ```ts
 * import { SpaceWatermark } from "./_watermark.ts";
 * const watermark = new SpaceWatermark();
 * const timestamp = watermark.tryStamp("orders", 1_000)!;
 * console.log(watermark.boundOf("orders", 1_005)); // 999: the chunk at 1000 is in flight
 * watermark.release("orders", timestamp);
 * console.log(watermark.boundOf("orders", 1_005)); // 1005
 * console.log(watermark.tryStamp("orders", 1_005)); // undefined: wait for 1006
 * ```
 */
export class SpaceWatermark {
  #spaces = new Map<string, SpaceState>();

  #state(space: string): SpaceState {
    let state = this.#spaces.get(space);
    if (!state) {
      state = { inFlight: new Map(), readFloor: -Infinity };
      this.#spaces.set(space, state);
    }
    return state;
  }

  /**
   * Marks a chunk about to commit into `space` at `timestamp` or, when a reader may already have
   * passed it, just above what readers passed, as in flight; returns the timestamp taken. For a
   * shared backend's time, which readers here never read ahead of.
   */
  stampAtLeast(space: string, timestamp: number): number {
    const state = this.#state(space);
    const taken = Math.max(timestamp, state.readFloor + 1);
    this.hold(space, taken);
    return taken;
  }

  /**
   * Marks a chunk about to commit into `space` at `timestamp` (the clock, or the segment's last
   * timestamp if later) as in flight and returns `timestamp`; or returns `undefined`, marking
   * nothing, when a reader may already have passed `timestamp`: retry once the clock moved on.
   */
  tryStamp(space: string, timestamp: number): number | undefined {
    const state = this.#state(space);
    if (timestamp <= state.readFloor) return undefined;
    this.hold(space, timestamp);
    return timestamp;
  }

  /**
   * Marks a chunk whose timestamp was given (a restore) as in flight, whatever readers have
   * passed: readers of this process wait for it, though it may land behind them.
   */
  hold(space: string, timestamp: number): void {
    const state = this.#state(space);
    state.inFlight.set(timestamp, (state.inFlight.get(timestamp) ?? 0) + 1);
  }

  /** Marks a chunk stamped with `timestamp` as committed or failed. */
  release(space: string, timestamp: number): void {
    const state = this.#spaces.get(space);
    const count = state?.inFlight.get(timestamp);
    if (!state || count === undefined) return;
    if (count > 1) state.inFlight.set(timestamp, count - 1);
    else state.inFlight.delete(timestamp);
  }

  /**
   * The highest timestamp a reader of `space` may read up to at time `now`: below every chunk
   * in flight and at most `now`. A reader that reads up to it must {@linkcode observe} what it
   * read through, so that later stamps land above it.
   */
  boundOf(space: string, now: number): number {
    let bound = now;
    const inFlight = this.#spaces.get(space)?.inFlight;
    if (inFlight) {
      for (const timestamp of inFlight.keys()) {
        bound = Math.min(bound, timestamp - 1);
      }
    }
    return bound;
  }

  /**
   * Records that a reader read `space` through `timestamp` (a space read's bound, or an entry
   * seen by a segment read or a peek): its space offsets may be resumed from, so later stamps
   * land above it.
   */
  observe(space: string, timestamp: number): void {
    const state = this.#state(space);
    if (timestamp > state.readFloor) state.readFloor = timestamp;
  }
}
