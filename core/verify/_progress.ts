/**
 * The counts of a verify, handed to its `onProgress` as it reads.
 *
 * @module
 */

import type { Entry } from "../types.ts";
import type { VerifyProgress } from "./types.ts";

const PROGRESS_EVERY_ENTRIES = 1_000;

/** The counts, handed to `onProgress` every 1,000 entries read (from either index). */
export class ProgressCounter implements VerifyProgress {
  spaces = 0;
  segments = 0;
  entries = 0;
  bytes = 0;
  #reads = 0;
  #onProgress: ((progress: VerifyProgress) => void) | undefined;

  constructor(onProgress: ((progress: VerifyProgress) => void) | undefined) {
    this.#onProgress = onProgress;
  }

  /** An entry read from a segment index: it counts. */
  segmentEntry(entry: Entry): void {
    this.entries++;
    this.bytes += entry.payload.byteLength;
    this.#read();
  }

  /** An entry read from a space index: a comparison, its stored entry already counted. */
  spaceEntry(): void {
    this.#read();
  }

  #read(): void {
    if (++this.#reads % PROGRESS_EVERY_ENTRIES === 0) this.report();
  }

  report(): void {
    const { spaces, segments, entries, bytes } = this;
    this.#onProgress?.({ spaces, segments, entries, bytes });
  }
}
