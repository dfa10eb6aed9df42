// A chunk's commit point: one transaction with its entry rows and its head, If-Match the head it
// was validated against (see PROTOCOL.md I2, I4, I11).

import { SequenceMismatchError, StreamkitError } from "@streamkit/core";
import type { ChunkCommit } from "@streamkit/core/driver";
import type { BatchAction } from "./_batch.ts";
import {
  entryRow,
  headRow,
  type PendingFanout,
  segmentPartition,
  sequenceRow,
} from "./_entities.ts";
import { requestStatusOf } from "./_requests.ts";
import type { AzureTable } from "./_table.ts";

/** What became of a commit transaction. */
export type CommitAnswer =
  /** It applied; the head's new ETag, when the answer carried one. */
  | { applied: true; headEtag: string | undefined }
  /** It certainly did not apply: the error for the writer. */
  | { applied: false; lost: unknown };

/**
 * Submits the commit transaction of `chunk` (`values`: its entries' compressed bytes), its head
 * marking `pending` (I4); a new segment's head replaces the fence row of `emptyHeadEtag` when
 * there is one (I12). Throws when it cannot tell whether the transaction applied.
 */
export async function submitCommit(
  table: AzureTable,
  chunk: ChunkCommit,
  values: Uint8Array[],
  pending: PendingFanout,
  emptyHeadEtag: string | undefined,
): Promise<CommitAnswer> {
  const { space, segment, trx, entries } = chunk;
  const partition = segmentPartition(space, segment);
  const first = entries[0].sequence;
  const actions: BatchAction[] = entries.map((entry, i) => ({
    kind: "create",
    row: entryRow(partition, sequenceRow(entry.sequence), values[i]),
  }));
  const head = headRow(partition, { status: chunk.status, trxNumber: trx.number }, pending);
  const etag = chunk.head ? String(chunk.head.version) : emptyHeadEtag;
  actions.push(etag ? { kind: "update", row: head, etag } : { kind: "create", row: head });
  try {
    const etags = await table.submit(actions, "commit a chunk");
    return { applied: true, headEtag: etags.at(-1) };
  } catch (error) {
    // An answer may have been lost after the commit happened: the first row says whose it is.
    if (await table.committed(space, segment, first, trx.id)) {
      return { applied: true, headEtag: undefined };
    }
    return { applied: false, lost: await lostCommitError(table, space, segment, first, error) };
  }
}

/**
 * The error of a writer whose transaction failed its head's condition (409, 412):
 * `SequenceMismatch` when another writer moved the head past it, else a transient `Conflict`
 * (the head was fenced or its mark cleared: nothing was written, and the chunk may go again,
 * stamped anew: I11). Any other failure is returned as it is.
 */
async function lostCommitError(
  table: AzureTable,
  space: string,
  segment: string,
  first: number,
  error: unknown,
): Promise<unknown> {
  const status = requestStatusOf(error);
  if (status !== 409 && status !== 412) return error;
  const head = await table.readHeadRow(space, segment);
  const expected = (head?.status.lastSequence ?? 0) + 1;
  if (expected !== first) return new SequenceMismatchError(space, segment, expected, first);
  return new StreamkitError(
    "Conflict",
    `segment ${JSON.stringify(segment)} of space ${
      JSON.stringify(space)
    } changed while committing; retry`,
    { transient: true },
  );
}
