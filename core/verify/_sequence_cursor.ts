/**
 * A segment index read forward beside a read of its space index.
 *
 * @module
 */

import type { Entry } from "../types.ts";

/** A segment index read forward to the sequences asked for, in ascending order. */
export class SequenceCursor {
  #entries: AsyncIterator<Entry>;
  /** The entry read last and not handed out: above the sequence asked for then. */
  #ahead: Entry | undefined;
  #done = false;

  constructor(entries: AsyncIterable<Entry>) {
    this.#entries = entries[Symbol.asyncIterator]();
  }

  /** The entry at `sequence`, passing those below it; `undefined` when the index has none. */
  async at(sequence: number): Promise<Entry | undefined> {
    while (true) {
      if (this.#ahead === undefined) {
        if (this.#done) return undefined;
        const next = await this.#entries.next();
        if (next.done) {
          this.#done = true;
          return undefined;
        }
        this.#ahead = next.value;
      }
      const entry = this.#ahead;
      if (entry.sequence > sequence) return undefined;
      this.#ahead = undefined;
      if (entry.sequence === sequence) return entry;
    }
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#entries.return?.();
  }
}
