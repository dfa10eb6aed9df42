/**
 * A segment's two digests compared: the segment index's and the space index's.
 *
 * @module
 */

import type { IndexDigest } from "./_index_digest.ts";
import type { ProblemLog } from "./_problem_log.ts";
import { span } from "./_wording.ts";

/**
 * How a segment's two indexes compare: `bytes differ` when they hold the same sequences and the
 * hashes differ, `sequences differ` when the hashes cannot tell.
 */
export type Comparison = "alike" | "bytes differ" | "sequences differ";

/**
 * Compares `held`, the segment index's digest of a segment, with `indexed`, the space index's,
 * reporting the sequences one holds and the other not (gaps inside either were reported as it
 * was read). Whether entries both hold may still differ in their bytes, to be located.
 */
export function compareIndexes(
  log: ProblemLog,
  space: string,
  segment: string,
  held: IndexDigest,
  indexed: IndexDigest,
): Comparison {
  // A segment index that could not be read whole was reported; its digest proves nothing.
  if (held.incomplete) return "alike";
  const report = (sequence: number, problem: string) => log.add(space, segment, sequence, problem);
  if (held.count === 0) {
    report(
      indexed.first,
      `the space index holds ${span(indexed.first, indexed.last)}, the segment index nothing`,
    );
    return "alike";
  }
  if (indexed.count === 0) {
    report(
      held.first,
      `${span(held.first, held.last)} missing from the space index (it holds none of them)`,
    );
    return "alike";
  }
  if (held.first < indexed.first) {
    const last = Math.min(indexed.first - 1, held.last);
    report(held.first, `${span(held.first, last)} missing from the space index`);
  } else if (held.first > indexed.first) {
    const last = Math.min(held.first - 1, indexed.last);
    report(
      indexed.first,
      `${span(indexed.first, last)} in the space index, missing from the segment index`,
    );
  }
  if (held.last > indexed.last) {
    const first = Math.max(indexed.last + 1, held.first);
    report(first, `${span(first, held.last)} missing from the space index`);
  } else if (held.last < indexed.last) {
    const first = Math.max(held.last + 1, indexed.first);
    report(
      first,
      `${span(first, indexed.last)} in the space index, missing from the segment index`,
    );
  }
  const sameSequences = held.first === indexed.first && held.last === indexed.last &&
    !held.irregular && !indexed.irregular;
  if (!sameSequences) return "sequences differ";
  return held.sameBytes(indexed) ? "alike" : "bytes differ";
}
