// Time in the conformance cases: the bound on waits, the wall clock, a clock moved by hand, and
// promises a case resolves itself.

import { sleep } from "../_async.ts";
import type { Clock } from "../clock.ts";

/** Bound for operations that must not hang (generous: networked emulators are slow). */
export const TIMEOUT_MS = 30_000;

/** Waits until the wall clock is past `timestamp`, so the next chunk gets a later timestamp. */
export async function tickPast(timestamp: number): Promise<void> {
  await sleep(2);
  while (Date.now() <= timestamp + 1) await sleep(2);
}

/** A promise with its resolve function exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

/** Makes a {@linkcode Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/**
 * A clock the case moves by hand (handed to the factory as `clock`), so that chunks produced
 * into several spaces share one millisecond. A produce stamps above what a reader already read,
 * so after a read the case must advance it before producing again, or the produce waits.
 */
export class HandClock implements Clock {
  #now = Date.now();

  now(): number {
    return this.#now;
  }

  /**
   * Moves to the next millisecond, or to the wall clock's if that is later: it stands still
   * between two calls, yet never falls far behind (a driver may check its clock).
   */
  advance(): void {
    this.#now = Math.max(this.#now + 1, Date.now());
  }
}
