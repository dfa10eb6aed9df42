/**
 * The entries both indexes of a segment hold with different bytes, found by reading the space
 * index again beside a cursor on each such segment's index.
 *
 * @module
 */

import { entryDifferences } from "../entry_differences.ts";
import type { VerifyContext } from "./_context.ts";
import type { IndexDigest } from "./_index_digest.ts";
import { SequenceCursor } from "./_sequence_cursor.ts";
import { span } from "./_wording.ts";

/** Segments with differing bytes looked into per extra read of the space index. */
const SEGMENTS_PER_LOCATING_READ = 16;

/** A segment whose indexes may hold entries of one sequence with different bytes. */
export interface Difference {
  segment: string;
  /** The space index's digest of the segment. */
  indexed: IndexDigest;
  /** Both indexes hold the same sequences: some entry's bytes differ for certain. */
  sameSequences: boolean;
}

/**
 * Finds the entries that both indexes of `segments` hold with different bytes: reads the space
 * index again beside a cursor on each segment index, at most 16 segments per read.
 */
export async function locateDifferences(
  context: VerifyContext,
  space: string,
  segments: Difference[],
): Promise<void> {
  const { store, signal, log, progress } = context;
  for (let at = 0; at < segments.length; at += SEGMENTS_PER_LOCATING_READ) {
    const group = segments.slice(at, at + SEGMENTS_PER_LOCATING_READ);
    const located = new Set<string>();
    // Past the cap problems are only counted: one per segment will do, without reading again.
    if (!log.full) {
      const cursors = new Map(group.map(({ segment, indexed }) => [segment, {
        held: new SequenceCursor(store.consumeSegment({ space, segment, signal })),
        last: indexed.last,
      }]));
      try {
        for await (const entry of store.consumeSpace({ space, signal })) {
          progress.spaceEntry();
          const cursor = cursors.get(entry.segment);
          if (cursor === undefined) continue;
          const held = await cursor.held.at(entry.sequence);
          const differs = held === undefined ? [] : entryDifferences(held, entry);
          if (differs.length > 0) {
            located.add(entry.segment);
            log.add(
              space,
              entry.segment,
              entry.sequence,
              "the indexes hold different entries (segment index vs space index): " +
                differs.join("; "),
            );
          }
          if (entry.sequence >= cursor.last) {
            cursors.delete(entry.segment);
            await cursor.held.close();
            if (cursors.size === 0) break;
          }
        }
      } finally {
        for (const cursor of cursors.values()) await cursor.held.close();
      }
    }
    for (const { segment, indexed, sameSequences } of group) {
      if (!sameSequences || located.has(segment)) continue;
      log.add(
        space,
        segment,
        indexed.first,
        `the two indexes hold ${span(indexed.first, indexed.last)} with different bytes`,
      );
    }
  }
}
