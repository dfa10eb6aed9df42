// `streamkit import`: entries in the export format restored into a store, resumably: a segment
// the store holds part of already is checked against the input and continued. Checkpoint lines
// (`export --checkpoints`) are written after the entries.

import type { Checkpoint, Entry } from "@streamkit/core";
import { stringOption } from "../_args.ts";
import { describeCheckpoints, writeCheckpoints } from "../_checkpoint_transfer.ts";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { UsageError } from "../_errors.ts";
import { FormatError, parseExportLine } from "../_export_format.ts";
import { type Input, openInput } from "../_input.ts";
import { formatCount, formatNumberOf, Progress } from "../_progress.ts";
import {
  moveSegments,
  newSegmentsMove,
  segmentLabel,
  type SegmentRun,
  type SegmentsMove,
} from "../_transfer.ts";

/**
 * The input's entries, each with its line number; its checkpoints go to `checkpoints`, to be
 * written once the entries are. A usage error names a line that is neither.
 */
async function* inputEntries(
  input: Input,
  checkpoints: Checkpoint[],
): AsyncIterable<{ entry: Entry; line: number }> {
  for await (const { text, number } of input.lines()) {
    if (text.trim() === "") continue;
    let line;
    try {
      line = parseExportLine(text);
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      throw new UsageError(`${input.name} line ${number}: ${error.message}`);
    }
    if ("checkpoint" in line) checkpoints.push(line.checkpoint);
    else yield { entry: line.entry, line: number };
  }
}

/**
 * The input cut into runs of consecutive lines of one segment. Each run must be consumed before
 * the next is asked for. Within a run, sequences go up by one, and timestamps and trx numbers
 * never go back: anything else is a usage error naming the line.
 */
async function* segmentRuns(input: Input, checkpoints: Checkpoint[]): AsyncIterable<SegmentRun> {
  const lines = inputEntries(input, checkpoints)[Symbol.asyncIterator]();
  let next = await lines.next();
  while (!next.done) {
    const { space, segment } = next.value.entry;
    const entries = async function* () {
      let previous: Entry | undefined;
      while (
        !next.done && next.value.entry.space === space && next.value.entry.segment === segment
      ) {
        const { entry, line } = next.value;
        if (previous !== undefined) {
          const wrong = entry.sequence !== previous.sequence + 1
            ? `sequence ${entry.sequence} does not follow ${previous.sequence}`
            : entry.timestamp < previous.timestamp
            ? `timestamp ${entry.timestamp} is below the previous entry's ${previous.timestamp}`
            : entry.trx.number < previous.trx.number
            ? `trx number ${entry.trx.number} is below the previous entry's ${previous.trx.number}`
            : undefined;
          if (wrong !== undefined) {
            throw new UsageError(
              `${input.name} line ${line}: ${segmentLabel(space, segment)}: ${wrong}`,
            );
          }
        }
        previous = entry;
        next = await lines.next();
        yield entry;
      }
    };
    yield { space, segment, entries: entries() };
  }
}

/**
 * The message of `error`, a line of the input that stopped the import, with what became of the
 * entries before it: those written stay committed, and a complete input run again goes on.
 */
function resumeHint(error: UsageError, moved: SegmentsMove): string {
  if (moved.restored === 0) return `${error.message}; nothing was written`;
  return `${error.message}; the ${formatNumberOf(moved.restored, "entry")} written before it ` +
    `${moved.restored === 1 ? "is" : "are"} committed: run the import again with the complete ` +
    "input and it goes on where it stopped (what is there already is checked, not written twice)";
}

/** `streamkit import`. */
export const importCommand: Command = {
  name: "import",
  summary: "restore entries in the export format into a store (resumable)",
  usage: "",
  arity: [0, 0],
  description: "Reads NDJSON in the export format (what `streamkit export` writes) and restores " +
    "every entry exactly (sequence, timestamp, trx, metadata, payload), consecutive lines of " +
    "one segment together. Resumable: where the store holds part of a segment already, those " +
    "entries must equal the input's (compared one by one: trx id, payload, timestamp, trx, " +
    "metadata) and only the rest is restored, so running it again after an interruption goes " +
    "on where it stopped and never writes an entry twice. A difference ends it with exit code " +
    "1, naming the space, segment and sequence. A line that is not in the export format (a " +
    "file cut short) stops it with exit code 2; the entries written before it stay committed " +
    "and the summary says how many. Restored entries keep their timestamps: " +
    "import into a new or quiet store, not under live followers. The store is created if it " +
    'does not exist. Checkpoint lines ({"checkpoint", "version", "updatedAt", "value"}, from ' +
    "`export --checkpoints` or `checkpoints --format jsonl`) are written after the entries, " +
    "with the store's own versions: one the store holds with the same value is left as it is, " +
    "one with another value is overwritten.",
  options: {
    in: {
      type: "string",
      value: "<file>",
      expects: "a file path",
      help: "read this file instead of stdin",
    },
  },
  database: "store",
  examples: [
    "streamkit import --in backup.ndjson --store 0f8fad5b-d9cb-469f-a165-70867728950e",
    "gunzip -c orders.ndjson.gz | streamkit import --db azure",
  ],
  run: async ({ values, signal }) => {
    const input = await openInput("--in", stringOption(values, "in"), "entries (export format)");
    try {
      return await withSelectedStore(
        values,
        { mustExist: false, signal },
        async (store, { storeId, database }) => {
          const progress = new Progress();
          const checkpoints: Checkpoint[] = [];
          const runs = segmentRuns(input, checkpoints);
          const moved = newSegmentsMove();
          const summary = (outcome: string) =>
            `${outcome}: ${progress.describe()}: ${formatNumberOf(moved.segments, "segment")} in ` +
            `${formatNumberOf(moved.spaces.size, "space")} from ${input.name} into store ` +
            `${storeId} (${database.name}); ${formatCount(moved.checked)} of the entries were ` +
            "there already and equal";
          try {
            await moveSegments(store, runs, progress, signal, moved);
          } catch (error) {
            // What was written stays: say how much, and (for a bad line) that a rerun goes on.
            progress.finish(
              `${summary("import stopped")}, ${formatCount(moved.restored)} written and committed`,
            );
            throw error instanceof UsageError ? new UsageError(resumeHint(error, moved)) : error;
          }
          const carried = checkpoints.length === 0
            ? undefined
            : await writeCheckpoints(store, checkpoints, signal);
          progress.finish(summary("import") + (carried ? `; ${describeCheckpoints(carried)}` : ""));
          return 0;
        },
      );
    } finally {
      await input.close();
    }
  },
};
