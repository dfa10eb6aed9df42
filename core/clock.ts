/**
 * The clock entries are stamped with.
 *
 * @module
 */

/**
 * A source of Unix millisecond timestamps.
 *
 * @example
 * ```ts
 * import type { Clock } from "@streamkit/core/driver";
 * const frozen: Clock = { now: () => 1_700_000_000_000 };
 * ```
 */
export interface Clock {
  /** The current time in Unix milliseconds. */
  now(): number;
}
