/**
 * Each segment index read once, entry by entry, a few segments at a time: the checks within a
 * segment, and the digest its space index is compared with.
 *
 * @module
 */

import type { Entry } from "../types.ts";
import { encodingOf, type VerifyContext } from "./_context.ts";
import { checkHead } from "./_head_check.ts";
import { IndexDigest } from "./_index_digest.ts";
import { corruption, ProblemLog } from "./_problem_log.ts";
import { span, where } from "./_wording.ts";

/** Segment indexes read at once: on a networked store latency, not throughput, bounds one read. */
const SEGMENT_READS_IN_FLIGHT = 8;

/** The segment index's side of a segment: its digest and the problems its read found. */
interface SegmentCheck {
  digest: IndexDigest;
  log: ProblemLog;
}

/**
 * Checks segments a few at a time, recording their problems in the order of `segments`. Returns
 * each segment's segment index digest, in that order.
 */
export async function checkSegments(
  context: VerifyContext,
  space: string,
  segments: string[],
): Promise<Map<string, IndexDigest>> {
  const digests = new Map<string, IndexDigest>();
  const inFlight: Promise<SegmentCheck>[] = [];
  let recorded = 0;
  const recordNext = async () => {
    const { digest, log } = await inFlight.shift()!;
    context.log.absorb(log);
    digests.set(segments[recorded++], digest);
    context.progress.segments++;
  };
  for (const segment of segments) {
    const check = checkSegment(context, space, segment);
    // Awaited in order by recordNext; should it fail first, the verify ends and the rest stop.
    check.catch(() => {});
    inFlight.push(check);
    if (inFlight.length === SEGMENT_READS_IN_FLIGHT) await recordNext();
  }
  while (inFlight.length > 0) await recordNext();
  return digests;
}

/** Reads one segment index, checking it entry by entry, then its status and `peek`. */
async function checkSegment(
  context: VerifyContext,
  space: string,
  segment: string,
): Promise<SegmentCheck> {
  const { store, signal, progress } = context;
  const log = new ProblemLog(context.log.max);
  const report = (sequence: number | undefined, problem: string) =>
    log.add(space, segment, sequence, problem);
  const digest = new IndexDigest();
  let first: Entry | undefined;
  let previous: Entry | undefined;
  try {
    for await (const entry of store.consumeSegment({ space, segment, signal })) {
      progress.segmentEntry(entry);
      if (entry.space !== space || entry.segment !== segment) {
        report(
          entry.sequence,
          `the segment index holds an entry of ${where(entry.space, entry.segment)}`,
        );
      }
      if (previous === undefined) first = entry;
      else if (!checkSuccession(previous, entry, report)) digest.irregular = true;
      digest.add(entry.sequence, encodingOf(context, entry, report));
      previous = entry;
    }
  } catch (error) {
    const message = corruption(error);
    digest.incomplete = true;
    const past = previous === undefined ? "" : ` past #${previous.sequence}`;
    report(
      previous && previous.sequence + 1,
      `the segment index cannot be read${past}: ${message}`,
    );
    return { digest, log };
  }
  await checkHead(context, space, segment, first, previous, report);
  return { digest, log };
}

/**
 * Checks `entry` against the one before it in its segment index. Returns whether its sequence
 * follows; the other findings are only reported.
 */
function checkSuccession(
  previous: Entry,
  entry: Entry,
  report: (sequence: number, problem: string) => void,
): boolean {
  const follows = entry.sequence === previous.sequence + 1;
  if (!follows) {
    if (entry.sequence > previous.sequence) {
      report(
        previous.sequence + 1,
        `${span(previous.sequence + 1, entry.sequence - 1)} missing from the segment index ` +
          `(it goes from #${previous.sequence} to #${entry.sequence})`,
      );
    } else {
      report(
        entry.sequence,
        `the segment index holds #${entry.sequence} after #${previous.sequence}`,
      );
    }
  }
  if (entry.timestamp < previous.timestamp) {
    report(
      entry.sequence,
      `timestamp ${entry.timestamp} is below #${previous.sequence}'s ${previous.timestamp}`,
    );
  }
  const trx = entry.trx;
  const previousTrx = previous.trx;
  if (trx.id === previousTrx.id) {
    const unlike = [
      trx.number !== previousTrx.number && `number (${trx.number} vs ${previousTrx.number})`,
      trx.node !== previousTrx.node && `node (${trx.node} vs ${previousTrx.node})`,
      entry.timestamp !== previous.timestamp &&
      `timestamp (${entry.timestamp} vs ${previous.timestamp})`,
    ].filter(Boolean);
    if (unlike.length > 0) {
      report(
        entry.sequence,
        `shares trx ${trx.id} with #${previous.sequence} but not its ${unlike.join(", ")}`,
      );
    }
  } else if (trx.number < previousTrx.number) {
    report(
      entry.sequence,
      `trx number ${trx.number} is below #${previous.sequence}'s ${previousTrx.number}`,
    );
  } else if (trx.number === previousTrx.number) {
    report(
      entry.sequence,
      `trx number ${trx.number} is used by two trx ids: ${previousTrx.id} ` +
        `(#${previous.sequence}) and ${trx.id}`,
    );
  }
  return follows;
}
