/**
 * One pass over a space: the segment digests of the pass against its space index, the segments
 * only the space index knows, and the entries whose bytes differ.
 *
 * @module
 */

import { compareIndexes } from "./_compare_indexes.ts";
import type { VerifyContext } from "./_context.ts";
import { EMPTY_DIGEST, type IndexDigest } from "./_index_digest.ts";
import { type Difference, locateDifferences } from "./_locate_differences.ts";
import { checkSegments } from "./_segment_check.ts";
import { type Pass, readSpaceIndex } from "./_space_index.ts";
import { compareNames, span } from "./_wording.ts";

/**
 * Compares the pass's segment digests with the space index, checks the segments only the space
 * index knows, and finds the entries whose bytes differ. Whether the pass saw any entry.
 */
export async function verifyPass(context: VerifyContext, pass: Pass): Promise<boolean> {
  const { log } = context;
  const { space, listed } = pass;
  const spaceDigests = await readSpaceIndex(context, pass);
  if (spaceDigests === undefined) {
    // The space index could not be read whole (reported): comparing with it would only list
    // the entries it could not reach.
    return true;
  }
  const differing: Difference[] = [];
  const compare = (segment: string, held: IndexDigest, indexed: IndexDigest) => {
    const comparison = compareIndexes(log, space, segment, held, indexed);
    if (comparison !== "alike") {
      differing.push({ segment, indexed, sameSequences: comparison === "bytes differ" });
    }
  };
  for (const [segment, held] of listed) {
    const indexed = spaceDigests.get(segment) ?? EMPTY_DIGEST;
    if (held.count === 0 && indexed.count === 0 && !held.incomplete) {
      log.add(space, segment, undefined, "getSegments lists it, but it holds no entries");
    } else {
      compare(segment, held, indexed);
    }
  }
  const unlisted = [...spaceDigests.keys()].filter((segment) => !listed.has(segment)).sort(
    compareNames,
  );
  for (const segment of unlisted) {
    const indexed = spaceDigests.get(segment)!;
    log.add(
      space,
      segment,
      undefined,
      `the space index holds entries of it (${
        span(indexed.first, indexed.last)
      }), but getSegments does not list it`,
    );
  }
  const unlistedHeld = await checkSegments(context, space, unlisted);
  for (const [segment, held] of unlistedHeld) compare(segment, held, spaceDigests.get(segment)!);
  await locateDifferences(context, space, differing);
  let seenEntries = spaceDigests.size > 0;
  for (const held of listed.values()) if (held.count > 0 || held.incomplete) seenEntries = true;
  return seenEntries;
}
