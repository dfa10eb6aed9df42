/**
 * One read of a space index in a pass: its order checked, and a digest of each segment the pass
 * covers.
 *
 * @module
 */

import { compareKeys } from "../codec/lexkey.ts";
import { spaceOffset } from "../offsets.ts";
import type { Entry } from "../types.ts";
import { encodingOf, type VerifyContext } from "./_context.ts";
import { IndexDigest } from "./_index_digest.ts";
import { corruption } from "./_problem_log.ts";
import { nameBytes, span, where } from "./_wording.ts";

/** The segments one pass over a space covers: the names listed, and the range they span. */
export interface Pass {
  space: string;
  /** The segment index digests of the listed segments, in listing order. */
  listed: Map<string, IndexDigest>;
  /** UTF-8 bytes of the name the previous pass ended with: this one covers names above it. */
  after: Uint8Array | undefined;
  /** UTF-8 bytes of this pass's last name; absent for the last pass, which covers the rest. */
  through: Uint8Array | undefined;
  /** The first pass over the space also checks the space index's order and entries' spaces. */
  firstPass: boolean;
}

/** Whether `segment` is in the range of names `pass` covers. */
function covers(pass: Pass, segment: string): boolean {
  const { after, through } = pass;
  if (after === undefined && through === undefined) return true;
  const name = nameBytes(segment);
  return (after === undefined || compareKeys(name, after) > 0) &&
    (through === undefined || compareKeys(name, through) <= 0);
}

/**
 * Reads the space index: checks its order (on the pass's first read) and makes a digest of each
 * segment the pass covers, listed or not. `undefined` when it could not be read whole.
 */
export async function readSpaceIndex(
  context: VerifyContext,
  pass: Pass,
): Promise<Map<string, IndexDigest> | undefined> {
  const { store, signal, log, progress, segmentsPerPass } = context;
  const { space, listed, firstPass } = pass;
  const digests = new Map<string, IndexDigest>();
  const report = (segment: string, sequence: number, problem: string) =>
    log.add(space, segment, sequence, problem);
  let unlisted = 0;
  let previous: Entry | undefined;
  let previousOffset: Uint8Array | undefined;
  try {
    for await (const entry of store.consumeSpace({ space, signal })) {
      progress.spaceEntry();
      const { segment, sequence } = entry;
      if (firstPass) {
        if (entry.space !== space) {
          report(
            segment,
            sequence,
            `the space index holds an entry of space ${JSON.stringify(entry.space)}`,
          );
        }
        const offset = spaceOffset(entry);
        if (previous !== undefined && compareKeys(previousOffset!, offset) >= 0) {
          report(
            segment,
            sequence,
            `the space index holds it after ${where(previous.space, previous.segment)}` +
              `#${previous.sequence} at ${previous.timestamp}, out of (timestamp, segment, ` +
              "sequence) order",
          );
        }
        previousOffset = offset;
      }
      previous = entry;
      let digest = digests.get(segment);
      if (digest === undefined) {
        if (!listed.has(segment)) {
          if (!covers(pass, segment)) continue;
          // Unlisted segments are damage, but could be every segment: keep their digests
          // within one pass's bound, and say so past it.
          if (unlisted === segmentsPerPass) {
            report(
              segment,
              sequence,
              `more than ${unlisted} segments of this range of names are not listed by ` +
                "getSegments; this one and the next are not checked",
            );
          }
          if (unlisted++ >= segmentsPerPass) continue;
        }
        digest = new IndexDigest();
        digests.set(segment, digest);
      } else if (sequence !== digest.last + 1) {
        digest.irregular = true;
        if (sequence > digest.last) {
          report(
            segment,
            digest.last + 1,
            `${span(digest.last + 1, sequence - 1)} missing from the space index ` +
              `(it goes from #${digest.last} to #${sequence})`,
          );
        } else {
          report(segment, sequence, `the space index holds #${sequence} after #${digest.last}`);
        }
      }
      digest.add(
        sequence,
        encodingOf(context, entry, (at, problem) => report(segment, at, problem)),
      );
    }
  } catch (error) {
    const message = corruption(error);
    const past = previous === undefined
      ? ""
      : ` past ${where(previous.space, previous.segment)}#${previous.sequence}`;
    log.add(
      space,
      undefined,
      undefined,
      `the space index cannot be read${past}: ${message}; its segments are not compared`,
    );
    return undefined;
  }
  return digests;
}
