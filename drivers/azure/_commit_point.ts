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
 * marking `pending` (I4). Before each attempt runs `beforeAttempt`, told whether the head's
 * pending mark was cleared under the commit (I11). Throws when it cannot tell whether the
 * transaction applied.
 */
export async function submitCommit(
  table: AzureTable,
  chunk: ChunkCommit,
  values: Uint8Array[],
  pending: PendingFanout,
  beforeAttempt: (markCleared: boolean) => Promise<void>,
): Promise<CommitAnswer> {
  const { space, segment, trx, entries } = chunk;
  const partition = segmentPartition(space, segment);
  const first = entries[0].sequence;
  const actions: BatchAction[] = entries.map((entry, i) => ({
    kind: "create",
    row: entryRow(partition, sequenceRow(entry.sequence), values[i]),
  }));
  const head = headRow(partition, { status: chunk.status, trxNumber: trx.number }, pending);
  actions.push(
    chunk.head
      ? { kind: "update", row: head, etag: String(chunk.head.version) }
      : { kind: "create", row: head },
  );
  let markCleared = false;
  for (let attempt = 1;; attempt++) {
    try {
      const etags = await table.submit(actions, "commit a chunk", () => beforeAttempt(markCleared));
      return { applied: true, headEtag: etags.at(-1) };
    } catch (error) {
      // An answer may have been lost after the commit happened: the first row says whose it is.
      if (await table.committed(space, segment, first, trx.id)) {
        return { applied: true, headEtag: undefined };
      }
      // Another process may only have cleared the head's pending mark (a new ETag, the same
      // head): then the chunk still continues it, and goes again under the new ETag.
      const moved = attempt === 1 && chunk.head ? await table.readHead(space, segment) : undefined;
      if (
        moved && chunk.head && moved.pending === undefined &&
        moved.status.lastSequence === chunk.head.status.lastSequence &&
        moved.trxNumber === chunk.head.trxNumber
      ) {
        actions[actions.length - 1] = { kind: "update", row: head, etag: moved.etag };
        markCleared = true;
        continue;
      }
      return { applied: false, lost: await lostCommitError(table, space, segment, first, error) };
    }
  }
}

/**
 * The error of a writer whose transaction failed: `SequenceMismatch` or a transient
 * `Conflict` when another writer moved the head (409, 412), else the failure itself.
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
  const head = await table.readHead(space, segment);
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
