// `streamkit export`: every entry of the store (or of some spaces) in the export format, segment
// by segment, then with --checkpoints every checkpoint (read before the entries), to stdout or a
// file.

import { Buffer } from "node:buffer";
import { flagOption, listOption, stringOption } from "../_args.ts";
import { checkpointsOption, readCheckpoints } from "../_checkpoint_transfer.ts";
import type { Command } from "../_command.ts";
import { withSelectedStore } from "../_db.ts";
import { formatCheckpoint, formatEntry } from "../_export_format.ts";
import { LineOutput } from "../_output.ts";
import { formatNumberOf, Progress } from "../_progress.ts";
import { selectSpaces, spaceOption } from "../_spaces.ts";

/** `streamkit export`. */
export const exportCommand: Command = {
  name: "export",
  summary: "write the store's entries as NDJSON (the export format), for backups and moves",
  usage: "",
  arity: [0, 0],
  description: "Writes every entry of every space (or of the --space ones) as one line of " +
    'NDJSON: {"space", "segment", "sequence", "timestamp", "trx": {"id", "node", "number"}, ' +
    '"metadata", "payload": "<standard base64>"}. Spaces and their segments come in ascending ' +
    "order, each segment's entries by sequence, every field exactly as stored: `streamkit " +
    "import` of the output reproduces the store. --checkpoints adds every checkpoint after " +
    'the entries, one line each: {"checkpoint": name, "version", "updatedAt", "value": ' +
    '"<standard base64>"} (all of them, whatever --space says), read before the entries so ' +
    "that none points past them; leases are never exported. " +
    "Progress goes to stderr while it is a terminal, and a one-line summary always; the " +
    "bytes they count are those written, the size of the file.",
  options: {
    space: spaceOption("export"),
    checkpoints: checkpointsOption(
      "also write the store's checkpoints, after the entries (import writes them back)",
    ),
    out: {
      type: "string",
      value: "<file>",
      expects: "a file path",
      help: "write to this file instead of stdout: written as <file>.partial and renamed when " +
        "complete, so <file> is never half a backup",
    },
  },
  database: "store",
  examples: [
    "streamkit export --out backup.ndjson",
    "streamkit export --space orders --space payments | gzip > orders.ndjson.gz",
  ],
  run: ({ values, signal }) => {
    const path = stringOption(values, "out");
    const withCheckpoints = flagOption(values, "checkpoints");
    return withSelectedStore(
      values,
      { mustExist: true, signal },
      async (store, { storeId, database }) => {
        const spaces = await selectSpaces(store, storeId, listOption(values, "space"), signal);
        const checkpoints = withCheckpoints ? await readCheckpoints(store, signal) : [];
        const output = path === undefined
          ? LineOutput.stdout()
          : await LineOutput.file("--out", path);
        // Bytes of the output, line breaks included: what the file holds once it is complete.
        const progress = new Progress("written");
        // Not async, as `output.line` is not: a line only queued costs no promise.
        const write = (line: string, entries: number): Promise<void> => {
          progress.add(Buffer.byteLength(line) + 1, entries);
          return output.line(line);
        };
        let segments = 0;
        try {
          for (const space of spaces) {
            for await (const segment of store.getSegments(space, { signal })) {
              segments++;
              for await (const entry of store.consumeSegment({ space, segment, signal })) {
                await write(formatEntry(entry), 1);
              }
            }
          }
          for (const checkpoint of checkpoints) await write(formatCheckpoint(checkpoint), 0);
          await output.finish(true);
        } catch (error) {
          progress.stop();
          await output.finish(false);
          throw error;
        }
        progress.finish(
          `export: ${progress.describe()}: ${formatNumberOf(segments, "segment")} in ` +
            `${formatNumberOf(spaces.length, "space")} ` +
            (withCheckpoints ? `and ${formatNumberOf(checkpoints.length, "checkpoint")} ` : "") +
            `of store ${storeId} (${database.name}) to ${path ?? "stdout"}`,
        );
        return 0;
      },
    );
  },
};
