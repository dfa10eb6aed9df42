/**
 * The default clock of every factory.
 *
 * @module
 */

import type { Clock } from "../clock.ts";

/**
 * A clock that never goes backwards: it returns the wall clock, or the last value it returned
 * when the wall clock has stepped back (NTP corrections, VM migrations).
 *
 * @example
 * ```ts
 * import { MonotonicClock } from "./_monotonic_clock.ts";
 * const clock = new MonotonicClock();
 * const first = clock.now();
 * console.log(clock.now() >= first); // true
 * ```
 */
export class MonotonicClock implements Clock {
  #last = -Infinity;
  #wallClock: () => number;

  /** Wraps `wallClock` (default `Date.now`). */
  constructor(wallClock: () => number = Date.now) {
    this.#wallClock = wallClock;
  }

  /** The wall clock's time, or the last returned time if that is later. */
  now(): number {
    const wall = this.#wallClock();
    if (wall > this.#last) this.#last = wall;
    return this.#last;
  }
}
