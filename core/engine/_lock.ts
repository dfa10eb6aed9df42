/**
 * A per-key async mutex.
 *
 * @module
 */

/**
 * Runs async critical sections one at a time per key, in arrival order; different keys run
 * concurrently. Keys with nothing waiting cost nothing.
 *
 * @example
 * ```ts
 * import { KeyedLock } from "./_lock.ts";
 * const lock = new KeyedLock();
 * let head = 0;
 * await Promise.all([1, 2, 3].map(() =>
 *   lock.run("orders\u0000order-1", async () => {
 *     const seen = head;
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     head = seen + 1; // no lost update: the sections never interleave
 *   })
 * ));
 * console.log(head); // 3
 * ```
 */
export class KeyedLock {
  #tails = new Map<string, Promise<void>>();

  /** Runs `section` once every earlier section of `key` has settled. */
  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const tail = new Promise<void>((resolve) => release = resolve);
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await section();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** How many keys have a section running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
