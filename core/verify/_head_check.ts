/**
 * A segment's head, as `getSegmentStatus` and `peek` report it, against its segment index.
 *
 * @module
 */

import { entryDifferences } from "../entry_differences.ts";
import type { Entry, SegmentStatus } from "../types.ts";
import type { VerifyContext } from "./_context.ts";
import { corruption } from "./_problem_log.ts";
import { span, where } from "./_wording.ts";

/** Checks `getSegmentStatus` and `peek` against the segment index's first and last entries. */
export async function checkHead(
  context: VerifyContext,
  space: string,
  segment: string,
  first: Entry | undefined,
  last: Entry | undefined,
  report: (sequence: number | undefined, problem: string) => void,
): Promise<void> {
  const { store, signal } = context;
  let status: SegmentStatus | undefined;
  let statusFailed = false;
  try {
    status = await store.getSegmentStatus(space, segment, { signal });
  } catch (error) {
    statusFailed = true;
    report(last?.sequence, `getSegmentStatus fails: ${corruption(error)}`);
  }
  let peeked: Entry | undefined;
  let peekFailed = false;
  try {
    peeked = await store.peek(space, segment, { signal });
  } catch (error) {
    peekFailed = true;
    report(status?.lastSequence ?? last?.sequence, `peek fails: ${corruption(error)}`);
  }
  if (first === undefined || last === undefined) {
    if (status !== undefined) {
      report(
        status.lastSequence,
        `getSegmentStatus reports ${span(status.firstSequence, status.lastSequence)}, ` +
          "but the segment index holds no entries",
      );
    }
    if (peeked !== undefined) {
      report(
        peeked.sequence,
        `peek returns #${peeked.sequence}, but the segment index holds no entries`,
      );
    }
    return;
  }
  if (status !== undefined) {
    if (status.space !== space || status.segment !== segment) {
      report(undefined, `getSegmentStatus reports ${where(status.space, status.segment)}`);
    }
    if (status.firstSequence !== first.sequence || status.firstTimestamp !== first.timestamp) {
      report(
        status.firstSequence,
        `getSegmentStatus reports first #${status.firstSequence} at ${status.firstTimestamp}, ` +
          `the segment index starts with #${first.sequence} at ${first.timestamp}`,
      );
    }
    if (status.lastSequence !== last.sequence || status.lastTimestamp !== last.timestamp) {
      report(
        status.lastSequence,
        `getSegmentStatus reports last #${status.lastSequence} at ${status.lastTimestamp}, ` +
          `the segment index ends with #${last.sequence} at ${last.timestamp}`,
      );
    }
  } else if (!statusFailed) {
    report(
      last.sequence,
      `the segment index holds ${span(first.sequence, last.sequence)}, ` +
        "but getSegmentStatus reports nothing",
    );
  }
  if (peeked !== undefined) {
    const differs = entryDifferences(last, peeked);
    if (differs.length > 0) {
      report(
        peeked.sequence,
        `peek returns an entry unlike the segment index's last, #${last.sequence} ` +
          `(segment index vs peek): ${differs.join("; ")}`,
      );
    }
  } else if (!peekFailed) {
    report(last.sequence, `peek returns nothing, the segment index ends with #${last.sequence}`);
  }
}
