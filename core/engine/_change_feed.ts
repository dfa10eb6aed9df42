/**
 * What changed: every commit made through one opened store (any of its handles) counts up the
 * version of its space and of its segment, and wakes the followers waiting on either. A follower notes the
 * versions before it reads, and waits only if none moved since: a commit that lands while it
 * reads is never missed, and an idle follower reads nothing.
 *
 * @module
 */

interface Waiter {
  keys: readonly string[];
  wake: () => void;
}

/**
 * Commit counters of one opened store, by key (a space, or a segment's key), and the followers
 * waiting on them.
 */
export class ChangeFeed {
  #versions = new Map<string, number>();
  #waiters = new Set<Waiter>();

  /** The current versions of `keys`, to compare with later. */
  versions(keys: readonly string[]): number[] {
    return keys.map((key) => this.#versions.get(key) ?? 0);
  }

  /** Whether any of `keys` changed since `versions` were taken. */
  changedSince(keys: readonly string[], versions: readonly number[]): boolean {
    return keys.some((key, i) => (this.#versions.get(key) ?? 0) !== versions[i]);
  }

  /** A chunk committed under each of `keys`. */
  committed(...keys: string[]): void {
    for (const key of keys) this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1);
    for (const waiter of this.#waiters) {
      if (keys.some((key) => waiter.keys.includes(key))) waiter.wake();
    }
  }

  /**
   * Resolves when one of `keys` changes after `versions` were taken (at once if it already
   * did), when `timeoutMs` passes (if given), or when `stop` aborts (rejecting with its reason).
   */
  wait(
    keys: readonly string[],
    versions: readonly number[],
    stop: AbortSignal,
    timeoutMs?: number,
  ): Promise<void> {
    if (stop.aborted) return Promise.reject(stop.reason);
    if (this.changedSince(keys, versions)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        this.#waiters.delete(waiter);
        stop.removeEventListener("abort", onAbort);
        clearTimeout(timer);
      };
      const waiter: Waiter = {
        keys,
        wake: () => {
          settle();
          resolve();
        },
      };
      const onAbort = () => {
        settle();
        reject(stop.reason);
      };
      this.#waiters.add(waiter);
      stop.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(waiter.wake, timeoutMs);
    });
  }
}
