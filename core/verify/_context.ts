/**
 * What every check of one verify shares.
 *
 * @module
 */

import type { EntryEncoder } from "../codec/encode.ts";
import type { Entry, Store } from "../types.ts";
import type { ProblemLog } from "./_problem_log.ts";
import type { ProgressCounter } from "./_progress.ts";

/** The store verified, the signal of its reads, and where findings and counts go. */
export interface VerifyContext {
  store: Store;
  /** Aborted when the verify ends, by abort or by an error: reads run a few at a time. */
  signal: AbortSignal;
  log: ProblemLog;
  progress: ProgressCounter;
  /** The most segments whose digests one pass over a space keeps. */
  segmentsPerPass: number;
  /** Encodes an entry for its hash, which is taken before the next await: one serves all reads. */
  encoder: EntryEncoder;
}

/** The entry's encoding, for its hash; `undefined` (a problem) when it has none. */
export function encodingOf(
  context: VerifyContext,
  entry: Entry,
  report: (sequence: number, problem: string) => void,
): Uint8Array | undefined {
  try {
    return context.encoder.encode(entry);
  } catch (error) {
    report(entry.sequence, `the entry cannot be encoded: ${(error as Error).message}`);
    return undefined;
  }
}
