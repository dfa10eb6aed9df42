/**
 * The verify of a whole store: its spaces one by one, each in passes of at most
 * `segmentsPerPass` listed segments (why: `README.md` beside this file). Tests call
 * {@linkcode verifyStoreInPasses} to take a space through several passes.
 *
 * @module
 */

import { EntryEncoder } from "../codec/encode.ts";
import { StreamkitError } from "../errors.ts";
import type { Store } from "../types.ts";
import type { VerifyContext } from "./_context.ts";
import { listedNames } from "./_listing.ts";
import { ProblemLog } from "./_problem_log.ts";
import { ProgressCounter } from "./_progress.ts";
import type { VerifyOptions, VerifyReport } from "./types.ts";
import { checkSegments } from "./_segment_check.ts";
import { verifyPass } from "./_verify_pass.ts";
import { compareNames, nameBytes } from "./_wording.ts";

/** Segments whose digests one pass keeps: about 100 bytes each (twice for its two indexes). */
export const SEGMENTS_PER_PASS = 100_000;
const DEFAULT_MAX_PROBLEMS = 1_000;

/**
 * `verifyStore` with spaces checked in passes of at most `segmentsPerPass` segments, so tests
 * can take a space through several passes without writing 100,000 segments.
 */
export async function verifyStoreInPasses(
  store: Store,
  options: VerifyOptions,
  segmentsPerPass: number,
): Promise<VerifyReport> {
  if (!Number.isSafeInteger(segmentsPerPass) || segmentsPerPass < 1) {
    throw new StreamkitError(
      "InvalidArgument",
      `segmentsPerPass: must be a positive integer, got ${segmentsPerPass}`,
    );
  }
  const maxProblems = options.maxProblems ?? DEFAULT_MAX_PROBLEMS;
  if (!Number.isSafeInteger(maxProblems) || maxProblems < 0) {
    throw new StreamkitError(
      "InvalidArgument",
      `maxProblems: must be a non-negative integer, got ${maxProblems}`,
    );
  }
  const { signal } = options;
  signal?.throwIfAborted();
  // Reads run a few at a time: when the check ends, by abort or by an error, this stops the rest.
  const reads = new AbortController();
  const forwardAbort = () => reads.abort(signal!.reason);
  signal?.addEventListener("abort", forwardAbort, { once: true });
  try {
    return await verifySpaces({
      store,
      signal: reads.signal,
      progress: new ProgressCounter(options.onProgress),
      log: new ProblemLog(maxProblems),
      segmentsPerPass,
      encoder: new EntryEncoder(),
    });
  } finally {
    signal?.removeEventListener("abort", forwardAbort);
    reads.abort();
  }
}

async function verifySpaces(context: VerifyContext): Promise<VerifyReport> {
  const { store, signal, log, progress } = context;
  for await (const space of listedNames(log, store.getSpaces({ signal }), "getSpaces", undefined)) {
    await verifySpace(context, space);
    progress.spaces++;
  }
  progress.report();
  const { spaces, segments, entries, bytes } = progress;
  return { sound: log.count === 0, problems: log.problems(), spaces, segments, entries, bytes };
}

/** Cuts the space's listing of segments into passes, and checks it holds entries at all. */
async function verifySpace(context: VerifyContext, space: string): Promise<void> {
  const { store, signal, log, segmentsPerPass } = context;
  const listing = listedNames(log, store.getSegments(space, { signal }), "getSegments", space)
    [Symbol.asyncIterator]();
  let holdsEntries = false;
  let after: Uint8Array | undefined;
  let next = await listing.next();
  let firstPass = true;
  do {
    const names: string[] = [];
    let highest = "";
    while (!next.done && names.length < segmentsPerPass) {
      names.push(next.value);
      if (highest === "" || compareNames(next.value, highest) > 0) highest = next.value;
      next = await listing.next();
    }
    const through = next.done ? undefined : nameBytes(highest);
    const listed = await checkSegments(context, space, names);
    if (await verifyPass(context, { space, listed, after, through, firstPass })) {
      holdsEntries = true;
    }
    after = through;
    firstPass = false;
  } while (!next.done);
  if (!holdsEntries) {
    log.add(space, undefined, undefined, "getSpaces lists it, but it holds no entries");
  }
}
